"""What seeding a recovery workload costs: row by row (a statement and a commit per row, as the
row factory seeded before COPY) beside :meth:`Workload.write` (COPY where the table allows, one
transaction per tenant), on one durable rehearsal cluster (fsync on, as the recovery family runs
it), the sides alternating for ``--rounds`` rounds so a shared machine's load hits both alike.

    .venv/bin/python benchmarks/bench_seeding.py [--profile launch] [--rounds 2] [--target FILE]

``--profile`` takes its tenants and rows per table from ``fixtures/recovery/profiles.yaml``;
``--tenants`` / ``--rows`` override them. Each side seeds fresh tenants into the same database;
the figure is rows written into the tenant tables (parents included, counted by the database)
per second. Not a test: nothing here is collected (``testpaths`` excludes ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]


def _tenant_rows(conn: psycopg.Connection, tables: list[str]) -> int:
    total = 0
    for table in tables:
        schema, name = table.split(".", 1)
        total += conn.execute(sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name))).fetchone()[0]
    return total


def _row_by_row(workload, rows: int) -> None:
    root = workload.catalog.tenant_root
    for tenant in workload.tenants:
        for table in workload.catalog.tenant_tables:
            if root is None or table.qualified != root.qualified:
                for _ in range(rows):
                    workload.factory.insert(table, tenant)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=str(ROOT / "target.yaml"))
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--tenants", type=int)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from harness import data
    from harness.recovery.cluster import Cluster, RehearsalDirs
    from harness.recovery.dataset import Workload, overrides_for, prepare_target
    from harness.recovery.profiles import load_profile
    from harness.target import load_target

    spec = load_target(Path(args.target))
    profile = load_profile(data.path("recovery/profiles.yaml"), args.profile)
    tenants, rows = args.tenants or profile.tenants, args.rows or profile.rows_per_table
    print(f"target {spec.name}, {tenants} tenants x {rows} rows per tenant table, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    seconds: dict[str, list[float]] = {"row by row": [], "bulk (COPY)": []}
    written: dict[str, list[int]] = {side: [] for side in seconds}
    with tempfile.TemporaryDirectory(prefix="bench-seeding-") as folder:
        cluster = Cluster.create(RehearsalDirs(Path(folder)), "seed", {})
        try:
            owner, app = prepare_target(spec, cluster.admin)
            overrides = overrides_for(spec, owner, app)
            with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
                for _ in range(args.rounds):
                    for side in seconds:
                        workload = Workload(conn, spec, overrides)
                        workload.add_tenants(tenants)
                        before = _tenant_rows(conn, workload.tables())
                        started = time.monotonic()
                        if side == "row by row":
                            _row_by_row(workload, rows)
                        else:
                            workload.write(rows)
                        seconds[side].append(time.monotonic() - started)
                        written[side].append(_tenant_rows(conn, workload.tables()) - before)
                        print(f"  {side}: {written[side][-1]} rows in {seconds[side][-1]:.2f} s",
                              flush=True)
        finally:
            cluster.stop()
    print("\n| side | rows (median) | seconds (median) | rows/s |\n|---|---|---|---|")
    for side, times in seconds.items():
        median_rows, median_s = statistics.median(written[side]), statistics.median(times)
        print(f"| {side} | {median_rows:,.0f} | {median_s:.2f} | {median_rows / median_s:,.0f} |")
    ratio = statistics.median(seconds["row by row"]) / statistics.median(seconds["bulk (COPY)"])
    print(f"\nbulk is {ratio:.1f}x faster; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
