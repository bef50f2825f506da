"""The reference API's list endpoint next to its cheapest endpoint, on one uvicorn server.

    .venv/bin/python benchmarks/api_list_vs_health.py [--rounds 5] [--seconds 4] [--clients 8] [--limit 50]

Starts an embedded PostgreSQL, migrates a database, seeds two workspaces (``--items`` each) with a
token each (``seed_load_tenants``, the same call a load run makes), serves ``spec.api.asgi``
under uvicorn on 127.0.0.1 (stopped by PID), then drives ``GET /healthz`` and ``GET
/v1/work-items?limit=N`` in turn (``--rounds`` rounds, interleaved) with ``--clients`` threads
on keep-alive httpx clients for ``--seconds`` each, and prints requests/s, p50 and p95 for both
and the median list/health ratio. The
load generator shares the machine with the server, so the figures are for comparison, not a
capacity claim.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    spec = load_target(ROOT / "target.yaml", backend="embedded")
    run = Run(spec, uuid.uuid4().hex)
    run.acquire()
    try:
        with run.fresh_database("bench") as db:
            from reference_impl.adapter import ReferenceAdapter
            from reference_impl.work_items.operations import seed_load_tenants

            adapter = ReferenceAdapter(db)
            tenant = seed_load_tenants(adapter, tenants=2, items=args.items)[0]
            auth = {"Authorization": f"Bearer {tenant['token']}"}
            with live_server(spec.api.asgi, adapter.api_environment(), spec.root) as base_url:
                drive(base_url, "/healthz", auth, args.clients, 2.0)  # warm up both paths
                drive(base_url, f"/v1/work-items?limit={args.limit}", auth, args.clients, 2.0)
                rounds = []
                for _ in range(args.rounds):  # interleaved, so both see the same machine load
                    rounds.append((drive(base_url, "/healthz", auth, args.clients, args.seconds),
                                   drive(base_url, f"/v1/work-items?limit={args.limit}", auth,
                                         args.clients, args.seconds)))
    finally:
        run.release()
    for n, (health, listing) in enumerate(rounds, 1):
        for row in (health, listing):
            print(f"round {n} {row['path']:<26} {row['rps']:8.1f} req/s  p50 {row['p50_ms']:6.1f} ms  "
                  f"p95 {row['p95_ms']:6.1f} ms  ({row['requests']} requests, {row['errors']} errors)")
    ratios = sorted(listing["rps"] / health["rps"] for health, listing in rounds)
    p95s = sorted(listing["p95_ms"] for _, listing in rounds)
    print(f"list/health throughput ratio: median {statistics.median(ratios):.0%} "
          f"(min {ratios[0]:.0%}, max {ratios[-1]:.0%}; goal >= 60%); list p95 median "
          f"{statistics.median(p95s):.1f} ms (min {p95s[0]:.1f}; goal <= 25 ms)")


if __name__ == "__main__":
    main()
