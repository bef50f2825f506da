"""What one row costs the row factory (:class:`harness.core.RowFactory`), beside another checkout.

Seeding goes through the row factory in every family: the tenant isolation property test alone
inserts ~140 rows (with their parents) per generated example. This inserts ``--tenants`` tenants'
rows in every tenant table of the reference that takes a generic row, inside one transaction
that is rolled back (as the property test does), and prints per inserted row (its parent rows
included): wall time, the client's CPU and the database backend's CPU. With ``--baseline CHECKOUT`` (e.g. ``git archive main |
tar -x -C /tmp/main``) the other checkout's harness seeds the same way in the same rounds, the
sides alternating, each in a process of its own on a server of its own.

    .venv/bin/python benchmarks/bench_row_factory.py --rounds 3 --baseline /tmp/main
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _measure(root: Path, tenants: int, repeats: int) -> dict:
    """Runs in a process whose path starts at ``root``: that checkout's harness seeds."""
    import psutil

    from harness.core import RowFactory, read_catalog
    from harness.lifecycle import Run
    from harness.target import load_target

    spec = load_target(root / "target.yaml", backend="embedded", check_imports=False)
    run = Run(spec, uuid.uuid4().hex)
    run.acquire()
    try:
        run.template()
        with run.fresh_database("bench") as db, db.connect_owner(autocommit=True) as conn:
            catalog = read_catalog(conn, spec)
            factory = RowFactory(conn, catalog, spec.binding)
            backend = psutil.Process(conn.execute("select pg_backend_pid()").fetchone()[0])
            tables = []
            with conn.transaction(force_rollback=True):   # the tables a generic row satisfies
                tenant = factory.new_tenant()
                for table in catalog.tenant_tables:
                    if catalog.is_root(table):
                        continue
                    try:
                        factory.insert(table, tenant)
                        tables.append(table.qualified)
                    except Exception:  # noqa: BLE001  (needs the adapter's row_overrides)
                        pass
            samples = []
            for _ in range(repeats):
                with conn.transaction(force_rollback=True):
                    cpu, server, wall, rows = time.process_time(), sum(backend.cpu_times()[:2]), time.monotonic(), 0
                    for _ in range(tenants):
                        tenant = factory.new_tenant()
                        for table in tables:
                            factory.insert(table, tenant)
                            rows += 1
                    samples.append({"wall_ms": 1000 * (time.monotonic() - wall) / rows,
                                    "client_cpu_ms": 1000 * (time.process_time() - cpu) / rows,
                                    "backend_cpu_ms": 1000 * (sum(backend.cpu_times()[:2]) - server) / rows})
            return {"tables": len(tables), "rows": rows, "samples": samples}
    finally:
        run.release()


def _side(root: Path, tenants: int, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, __file__, "--worker", str(root), "--tenants", str(tenants),
                           "--repeats", str(repeats)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_row_factory: the side in {root} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per round and side")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alongside")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(_measure(args.worker, args.tenants, args.repeats)))
        return
    sides = {"this checkout": ROOT, **({f"baseline ({args.baseline})": args.baseline} if args.baseline else {})}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    for round_ in range(args.rounds):
        for name, root in (sides.items() if round_ % 2 == 0 else reversed(sides.items())):
            measured = _side(root, args.tenants, args.repeats)
            results[name] += measured["samples"]
            print(f"round {round_ + 1} {name}: {measured['rows']} rows in {measured['tables']} tables, "
                  + ", ".join(f"{k} {statistics.median(s[k] for s in measured['samples']):.3f}"
                              for k in ("wall_ms", "client_cpu_ms", "backend_cpu_ms")), flush=True)
    print("\nper row, median (min-max) over every timed pass:")
    for name, samples in results.items():
        print(f"  {name}: " + ", ".join(
            f"{k} {statistics.median(s[k] for s in samples):.3f} "
            f"({min(s[k] for s in samples):.3f}-{max(s[k] for s in samples):.3f})"
            for k in ("wall_ms", "client_cpu_ms", "backend_cpu_ms")))


if __name__ == "__main__":
    main()
