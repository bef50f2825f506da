"""Where a list request's time goes, beside the health endpoint's, in one process.

    .venv/bin/python benchmarks/api_list_breakdown.py [--requests 300] [--rounds 3] [--limit 50]

One embedded PostgreSQL and one migrated database with a seeded workspace (``seed_load_tenants``,
as a load run seeds). Interleaved for ``--rounds`` rounds, serially (one request at a time, no
server process, no load generator competing for the cores):

- **in-process request**: ``GET /healthz`` and ``GET /v1/work-items?limit=N`` through the ASGI
  app (httpx's ASGI transport), the whole FastAPI path: middleware, dependencies, thread hops;
- **the database part alone**: the statements a list request sends, on one app-role connection,
  as the session sends them: BEGIN, the tenant binding, the token lookup, the page query,
  COMMIT (five statements);
- **the page query on the server**: ``EXPLAIN (ANALYZE, BUFFERS)`` of the statement the endpoint
  runs, planned and executed as the app role bound to the workspace.

The difference between the request and its database part is the web framework's share.
Not a test: nothing here is collected (``testpaths`` excludes ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import httpx

from harness.lifecycle import Run
from harness.target import load_target
from harness.tenancy import bind_workspace

ROOT = Path(__file__).resolve().parents[1]


async def _requests(app, path: str, headers: dict[str, str], count: int) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 headers=headers) as client:
        for _ in range(20):   # warm: prepared statements, pool connections
            await client.get(path)
        started = time.perf_counter()
        for _ in range(count):
            response = await client.get(path)
            assert response.status_code == 200, response.text
        return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    spec = load_target(ROOT / "target.yaml", backend="embedded")
    run = Run(spec, uuid.uuid4().hex)
    run.acquire()
    sides: dict[str, list[float]] = {"in-process GET /healthz": [], "in-process GET list": [],
                                     "the list's database part": []}
    try:
        with run.fresh_database("bench") as db:
            from reference_impl.adapter import ReferenceAdapter
            from reference_impl.work_items import queries
            from reference_impl.work_items.operations import seed_load_tenants

            adapter = ReferenceAdapter(db)
            tenant = seed_load_tenants(adapter, tenants=2, items=args.items)[0]
            workspace, digest = uuid.UUID(tenant["workspace_id"]), queries.token_sha256(tenant["token"])
            headers = {"Authorization": f"Bearer {tenant['token']}"}
            app = adapter.asgi_app()
            with db.connect_owner(autocommit=True) as owner:
                owner.execute("analyze")
            with db.connect_app(autocommit=True) as conn:
                def database_part() -> None:
                    with conn.transaction():
                        bind_workspace(conn, "app.workspace_id", workspace)
                        queries.authenticate(conn, workspace, digest, "bench")
                        queries.list_page_json(conn, workspace, sort="-created_at", limit=args.limit)

                for _ in range(args.rounds):
                    sides["in-process GET /healthz"].append(
                        asyncio.run(_requests(app, "/healthz", headers, args.requests)))
                    sides["in-process GET list"].append(asyncio.run(
                        _requests(app, f"/v1/work-items?limit={args.limit}", headers, args.requests)))
                    for _ in range(20):
                        database_part()
                    started = time.perf_counter()
                    for _ in range(args.requests):
                        database_part()
                    sides["the list's database part"].append(
                        (time.perf_counter() - started) / args.requests * 1000)
                query, params = queries.page_json_sql(workspace, sort="-created_at", limit=args.limit + 1)
                with conn.transaction():
                    bind_workspace(conn, "app.workspace_id", workspace)
                    plan = [r[0] for r in conn.execute(
                        b"explain (analyze, buffers) " + query.as_bytes(conn), params).fetchall()]
            app.state.pool.close()
    finally:
        run.release()
    print("| side | ms per request (median) | rounds |\n|---|---|---|")
    for side, values in sides.items():
        print(f"| {side} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    request = statistics.median(sides["in-process GET list"])
    database = statistics.median(sides["the list's database part"])
    print(f"\nthe web framework's share of a list request: {request - database:.2f} ms "
          f"({(request - database) / request:.0%}); the page query on the server:")
    print("\n".join(line for line in plan if "Execution Time" in line or "Planning Time" in line
                    or line.lstrip().startswith("->")))


if __name__ == "__main__":
    main()
