"""What one ``CREATE DATABASE ... TEMPLATE`` costs, by server settings, storage and strategy.

For each configuration it starts an embedded server, migrates the target into a template and
clones it and ``template1`` alternately (``--clones`` each), printing the median create and drop
times and the WAL each clone writes (``pg_current_wal_insert_lsn`` before and after; exact,
unlike times on a shared machine). Configurations:

- ``old``: the settings the harness used before (fsync/synchronous_commit/full_page_writes off);
- ``minimal``: ``old`` plus wal_level=minimal, max_wal_senders=0, wal_skip_threshold=0 (tried,
  not adopted: far less WAL, slower WAL_LOG clones);
- ``now``: :data:`harness.backends.embedded.SERVER_SETTINGS` (bounded WAL, fewer SCRAM rounds);
- each on disk (the run's temp dir) and on tmpfs (``/dev/shm``), each clone with
  ``STRATEGY WAL_LOG`` (PostgreSQL's default) and ``FILE_COPY``.

    .venv/bin/python benchmarks/bench_clone_cost.py [--clones 15] [--only now-tmpfs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from harness import roles
from harness.backends import embedded
from harness.target import load_target
from harness.template_cache import build_template

ROOT = Path(__file__).resolve().parents[1]
OLD_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")
MINIMAL_WAL = (*OLD_SETTINGS, "wal_level=minimal", "max_wal_senders=0", "wal_skip_threshold=0")


def measure(settings: tuple[str, ...], pgdata_home: str, clones: int, target: Path) -> list[str]:
    spec = load_target(target, backend="embedded")
    embedded.SERVER_SETTINGS = settings
    os.environ["HARNESS_PGDATA_HOME"] = pgdata_home
    backend = embedded.EmbeddedBackend()
    lines = []
    with tempfile.TemporaryDirectory(prefix="harness-clonecost-") as tmp:
        state = backend.start(Path(tmp) / "server")
        try:
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                roles.ensure_role(admin, spec.app_role, "bench")
            build_template(spec, state.admin, "migrated")
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                for strategy in ("wal_log", "file_copy"):
                    lines += _clone_loop(admin, strategy, clones)
        finally:
            backend.stop(state)
    return lines


def _clone_loop(admin: psycopg.Connection, strategy: str, clones: int) -> list[str]:
    """Clones of both templates, interleaved, so that churn on the file system hits both alike."""
    templates = ("template1", "migrated")
    create = {t: [] for t in templates}
    drop = {t: [] for t in templates}
    wal = {t: [] for t in templates}
    for i in range(clones):
        for template in templates:
            name = f"bench_{template}_{strategy}_{i}"
            lsn = admin.execute("select pg_current_wal_insert_lsn()").fetchone()[0]
            started = time.perf_counter()
            admin.execute(sql.SQL("create database {} template {} strategy " + strategy).format(
                sql.Identifier(name), sql.Identifier(template)))
            create[template].append(time.perf_counter() - started)
            wal[template].append(admin.execute(
                "select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (lsn,)).fetchone()[0])
            started = time.perf_counter()
            admin.execute(sql.SQL("drop database {}").format(sql.Identifier(name)))
            drop[template].append(time.perf_counter() - started)
    return [f"  {t:<10} {strategy:<9} create {statistics.median(create[t]) * 1000:7.1f} ms"
            f" (first 3: {' '.join(f'{x * 1000:.0f}' for x in create[t][:3])})"
            f"  drop {statistics.median(drop[t]) * 1000:6.1f} ms"
            f"  WAL/clone {statistics.median(wal[t]) / 1024:8.1f} kB" for t in templates]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clones", type=int, default=15)
    parser.add_argument("--target", type=Path, default=ROOT / "target.yaml")
    parser.add_argument("--only", default=None, help="one of old-disk, minimal-disk, now-disk, old-tmpfs, minimal-tmpfs, now-tmpfs")
    args = parser.parse_args()
    tmpfs = str(embedded.TMPFS)
    configs = {"old-disk": (OLD_SETTINGS, ""), "minimal-disk": (MINIMAL_WAL, ""),
               "now-disk": (embedded.SERVER_SETTINGS, ""), "old-tmpfs": (OLD_SETTINGS, tmpfs),
               "minimal-tmpfs": (MINIMAL_WAL, tmpfs), "now-tmpfs": (embedded.SERVER_SETTINGS, tmpfs)}
    for name, (settings, home) in configs.items():
        if args.only and name != args.only:
            continue
        print(f"{name}: {' '.join(settings)}", flush=True)
        for line in measure(settings, home, args.clones, args.target):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
