"""Where a list request's time goes, beside the health endpoint's, in one process.

    .venv/bin/python benchmarks/api_list_breakdown.py [--requests 300] [--rounds 3] [--limit 50] [--live]

The database, its two seeded workspaces and the token come from ``api_list_vs_health.py``'s
:func:`seeded_api` (as a load run seeds them). Interleaved for ``--rounds`` rounds, serially (one
request at a time, no load generator competing for the cores):

- **in-process request**: ``GET /healthz`` and ``GET /v1/work-items?limit=N`` through the ASGI
  app (httpx's ASGI transport): the list on its short path (``reference_impl/api/list_path.py``:
  one thread hand-off) and on the published route (the same token followed by a space, which
  the short path leaves to the route: FastAPI's dependencies, three thread hand-offs);
- **the database part alone**: the statements a list request sends, as each path sends them:
  the published route's five round trips on one app-role connection (BEGIN, the tenant
  binding, the token lookup, the page query, COMMIT) and the short path's one pipeline
  (``list_path.fetch_page``, on the app's pool);
- with ``--live``, the same two requests over loopback to the app under uvicorn
  (``api_list_vs_health.served``: started and stopped by PID), on one keep-alive client;
- **the page query on the server**: ``EXPLAIN (ANALYZE, BUFFERS)`` of the statement the endpoint
  runs, planned and executed as the app role bound to the workspace.

The difference between the request and its database part is the web framework's share.
Not a test: nothing here is collected (``testpaths`` excludes ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_list_vs_health import SeededApi, seeded_api, served  # noqa: E402

from harness.tenancy import bind_workspace  # noqa: E402
from reference_impl.api.list_path import fetch_page  # noqa: E402

WARM = 20  # prepared statements, pool connections


async def _in_process(app, path: str, headers: dict[str, str], count: int) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 headers=headers) as client:
        for _ in range(WARM):
            await client.get(path)
        started = time.perf_counter()
        for _ in range(count):
            response = await client.get(path)
            assert response.status_code == 200, response.text
        return (time.perf_counter() - started) / count * 1000


def _timed(step: Callable[[], object], count: int) -> float:
    for _ in range(WARM):
        step()
    started = time.perf_counter()
    for _ in range(count):
        step()
    return (time.perf_counter() - started) / count * 1000


def _measure(api: SeededApi, args: argparse.Namespace, base_url: str | None
             ) -> tuple[dict[str, list[float]], list[str]]:
    from reference_impl.work_items import queries

    listing = f"/v1/work-items?limit={args.limit}"
    digest = queries.token_sha256(api.token)
    published = {"Authorization": f"Bearer {api.token} "}   # the short path leaves it to the route
    sides: dict[str, list[float]] = {}
    app = api.adapter.asgi_app()
    with api.db.connect_app(autocommit=True) as conn, \
            httpx.Client(base_url=base_url or "http://unused", headers=api.auth) as live:
        def database_part() -> None:
            with conn.transaction():
                bind_workspace(conn, "app.workspace_id", api.workspace_id)
                queries.authenticate(conn, api.workspace_id, digest, "bench")
                queries.list_page_json(conn, api.workspace_id, sort="-created_at", limit=args.limit)

        def pipelined_part() -> None:
            assert fetch_page(app.state.pool.get(), "app.workspace_id", "bench", api.workspace_id,
                              api.token, "-created_at", args.limit, None, None) is not None

        def live_get(path: str) -> Callable[[], object]:
            def step() -> None:
                response = live.get(path)
                assert response.status_code == 200, response.text
            return step

        for _ in range(args.rounds):
            sides.setdefault("in-process GET /healthz", []).append(
                asyncio.run(_in_process(app, "/healthz", api.auth, args.requests)))
            sides.setdefault("in-process GET list", []).append(
                asyncio.run(_in_process(app, listing, api.auth, args.requests)))
            sides.setdefault("in-process GET list, published route", []).append(
                asyncio.run(_in_process(app, listing, published, args.requests)))
            sides.setdefault("the list's database part", []).append(_timed(pipelined_part, args.requests))
            sides.setdefault("the published route's database part", []).append(
                _timed(database_part, args.requests))
            if base_url:
                sides.setdefault("live GET /healthz", []).append(_timed(live_get("/healthz"), args.requests))
                sides.setdefault("live GET list", []).append(_timed(live_get(listing), args.requests))
        query, params = queries.page_json_sql(api.workspace_id, sort="-created_at", limit=args.limit + 1)
        with conn.transaction():
            bind_workspace(conn, "app.workspace_id", api.workspace_id)
            plan = [r[0] for r in conn.execute(
                b"explain (analyze, buffers) " + query.as_bytes(conn), params).fetchall()]
    app.state.pool.close()
    return sides, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--live", action="store_true", help="also over loopback to uvicorn")
    args = parser.parse_args()
    loads = [os.getloadavg()[0]]
    with seeded_api(args.items) as api:
        if args.live:
            with served(api) as base_url:
                sides, plan = _measure(api, args, base_url)
        else:
            sides, plan = _measure(api, args, None)
    loads.append(os.getloadavg()[0])
    print("| side | ms per request (median) | rounds |\n|---|---|---|")
    for side, values in sides.items():
        print(f"| {side} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    request = statistics.median(sides["in-process GET list"])
    database = statistics.median(sides["the list's database part"])
    print(f"\nthe web framework's share of a list request: {request - database:.2f} ms "
          f"({(request - database) / request:.0%}); 1-minute load average {min(loads):.1f} to "
          f"{max(loads):.1f}; the page query on the server:")
    print("\n".join(line for line in plan if "Execution Time" in line or "Planning Time" in line
                    or line.lstrip().startswith("->")))


if __name__ == "__main__":
    main()
