"""The reference API's list endpoint next to its cheapest endpoint, on one uvicorn server.

    .venv/bin/python benchmarks/api_list_vs_health.py [--rounds 5] [--seconds 4] [--clients 8] [--limit 50]
        [--baseline CHECKOUT]

Starts an embedded PostgreSQL, migrates a database, seeds two workspaces (``--items`` each) with a
token each (``seed_load_tenants``, the same call a load run makes), serves ``spec.api.asgi``
under uvicorn on 127.0.0.1 (stopped by PID), then drives ``GET /healthz`` and ``GET
/v1/work-items?limit=N`` in turn (``--rounds`` rounds, interleaved) with ``--clients`` threads
on keep-alive httpx clients for ``--seconds`` each, and prints requests/s, p50 and p95 for both,
the median list/health ratio, the server's, the database's and the load generator's CPU time per
request (a loaded machine starves a process of CPU, so requests/s there follow CPU per request),
how busy the server and the load generator were, and the machine's load average over the run.
``--baseline`` serves another checkout's app (``git archive main | tar -x -C DIR``) on the same
database beside this one, every round interleaved. :func:`seeded_api`
and :func:`served` are shared with ``api_list_breakdown.py``. The load generator shares the
machine with the server, so the figures are for comparison, not a capacity claim.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from harness.api.server import live_server
from harness.lifecycle import Run
from harness.target import load_target

ROOT = Path(__file__).resolve().parents[1]


def drive(base_url: str, path: str, headers: dict[str, str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        mine, bad = [], 0
        with httpx.Client(base_url=base_url, headers=headers, timeout=10.0) as http:
            while time.monotonic() < stop:
                start = time.perf_counter()
                status = http.get(path).status_code
                mine.append(time.perf_counter() - start)
                bad += status != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    q = statistics.quantiles(latencies, n=100)
    return {"path": path, "requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000}


@dataclass(frozen=True)
class SeededApi:
    """A migrated database with two seeded workspaces, as a load run seeds them."""

    spec: Any
    db: Any
    adapter: Any
    workspace_id: uuid.UUID
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def seeded_api(items: int) -> Iterator[SeededApi]:
    """An embedded PostgreSQL, a fresh migrated database, two workspaces of ``items`` work items
    each with a token (``seed_load_tenants``); all of it gone on exit."""
    spec = load_target(ROOT / "target.yaml", backend="embedded")
    run = Run(spec, uuid.uuid4().hex)
    run.acquire()
    try:
        with run.fresh_database("bench") as db:
            from reference_impl.adapter import ReferenceAdapter
            from reference_impl.work_items.operations import seed_load_tenants

            adapter = ReferenceAdapter(db)
            tenant = seed_load_tenants(adapter, tenants=2, items=items)[0]
            with db.connect_owner(autocommit=True) as owner:
                owner.execute("analyze")  # what autovacuum would have done by now
            yield SeededApi(spec, db, adapter, uuid.UUID(str(tenant["workspace_id"])), tenant["token"])
    finally:
        run.release()


@contextmanager
def served(api: SeededApi, source: Path | None = None) -> Iterator[str]:
    """``spec.api.asgi`` under uvicorn on loopback (started and stopped by PID): its base URL.
    ``source``: serve the app of another checkout (its root first on the import path)."""
    env = api.adapter.api_environment()
    if source is not None:
        env = {**env, "PYTHONPATH": str(source)}
    with live_server(api.spec.api.asgi, env, source or api.spec.root) as base_url:
        yield base_url


def server_process(base_url: str) -> psutil.Process | None:
    """The process of ours listening on ``base_url``'s port (to read its CPU time)."""
    port = int(base_url.rsplit(":", 1)[1])
    for child in psutil.Process().children(recursive=True):
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in child.net_connections(kind="tcp")):
                return child
        except psutil.Error:
            continue
    return None


def cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return float("nan")
    times = process.cpu_times()
    return times.user + times.system


def postmaster(api: SeededApi) -> psutil.Process | None:
    """The embedded PostgreSQL's postmaster (the parent of a backend of ours)."""
    with api.db.connect_owner(autocommit=True) as owner:  # read while the backend lives
        try:
            return psutil.Process(owner.info.backend_pid).parent()
        except psutil.Error:
            return None


def database_cpu(server: psutil.Process | None) -> dict[int, float]:
    """CPU seconds of each of the database server's processes now (the API's pooled backends
    live through a run, so a difference of two readings is the work the requests between asked)."""
    if server is None:
        return {}
    seconds = {}
    for process in [server, *server.children()]:
        try:
            seconds[process.pid] = cpu_seconds(process)
        except psutil.Error:
            continue
    return seconds


def measure(base_url: str, path: str, api: SeededApi, args: argparse.Namespace,
            process: psutil.Process | None, database: psutil.Process | None) -> dict:
    """One side of one round, with the API server's, the database's and the load generator's
    (this process's) CPU milliseconds per request (the database's: its processes that lived
    through the whole side), and how busy the server and the load generator were (CPU seconds
    per second of the side: one interpreter cannot pass ~100%)."""
    before, db_before, client_before = cpu_seconds(process), database_cpu(database), time.process_time()
    began = time.monotonic()
    row = drive(base_url, path, api.auth, args.clients, args.seconds)
    elapsed = time.monotonic() - began
    db_after, server, client = database_cpu(database), cpu_seconds(process) - before, \
        time.process_time() - client_before
    requests = max(row["requests"], 1)
    row["cpu_ms"] = server / requests * 1000
    row["client_cpu_ms"] = client / requests * 1000
    row["busy"] = (server / elapsed, client / elapsed)
    row["db_cpu_ms"] = sum(db_after[pid] - db_before[pid] for pid in db_after.keys() & db_before.keys()
                           ) / requests * 1000 if database is not None else float("nan")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also serve the app of another checkout (e.g. `git archive main`), "
                             "on the same database, its rounds interleaved with this one's")
    args = parser.parse_args()
    listing_path = f"/v1/work-items?limit={args.limit}"
    loads = [os.getloadavg()[0]]
    with seeded_api(args.items) as api, ExitStack() as servers:
        sides = {"this checkout": servers.enter_context(served(api))}
        if args.baseline is not None:
            sides["baseline"] = servers.enter_context(served(api, args.baseline.resolve()))
        processes = {side: server_process(url) for side, url in sides.items()}
        database = postmaster(api)
        for url in sides.values():  # warm up both paths of every server
            drive(url, "/healthz", api.auth, args.clients, 2.5)
            drive(url, listing_path, api.auth, args.clients, 2.5)
        rounds: dict[str, list[tuple[dict, dict]]] = {side: [] for side in sides}
        for _ in range(args.rounds):  # interleaved, so every side sees the same machine load
            for side, url in sides.items():
                rounds[side].append((measure(url, "/healthz", api, args, processes[side], database),
                                     measure(url, listing_path, api, args, processes[side], database)))
            loads.append(os.getloadavg()[0])
    for side, results in rounds.items():
        print(f"## {side}")
        for n, (health, listing) in enumerate(results, 1):
            for row in (health, listing):
                print(f"round {n} {row['path']:<26} {row['rps']:8.1f} req/s  p50 {row['p50_ms']:6.1f} ms  "
                      f"p95 {row['p95_ms']:6.1f} ms  server CPU {row['cpu_ms']:5.2f} ms/request  "
                      f"database CPU {row['db_cpu_ms']:5.2f} ms/request  load generator CPU "
                      f"{row['client_cpu_ms']:5.2f} ms/request  busy: server {row['busy'][0]:.0%}, "
                      f"load generator {row['busy'][1]:.0%}  ({row['requests']} requests, {row['errors']} errors)")
        ratios = sorted(listing["rps"] / health["rps"] for health, listing in results)
        p95s = sorted(listing["p95_ms"] for _, listing in results)
        print(f"list/health throughput ratio: median {statistics.median(ratios):.0%} "
              f"(min {ratios[0]:.0%}, max {ratios[-1]:.0%}; goal >= 60%); list p95 median "
              f"{statistics.median(p95s):.1f} ms (min {p95s[0]:.1f}; goal <= 25 ms); server CPU per "
              f"request, median: health {statistics.median(h['cpu_ms'] for h, _ in results):.2f} ms, "
              f"list {statistics.median(x['cpu_ms'] for _, x in results):.2f} ms; database CPU per list "
              f"request, median: {statistics.median(x['db_cpu_ms'] for _, x in results):.2f} ms; load "
              f"generator CPU per request, median: health "
              f"{statistics.median(h['client_cpu_ms'] for h, _ in results):.2f} ms, list "
              f"{statistics.median(x['client_cpu_ms'] for _, x in results):.2f} ms")
    print(f"1-minute load average during the run: {min(loads):.1f} to {max(loads):.1f}")


if __name__ == "__main__":
    main()
