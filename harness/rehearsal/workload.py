"""The background tenant workload and the lock sampler of a live-load rehearsal.

:class:`Workload` runs a few threads, each with its own app-role connection, doing short tenant
transactions bound through :mod:`harness.tenancy`: reads of every tenant table it is given and
inserts into the bulk tables. Every operation is recorded with its start and its latency, so a
migration step's effect is read off afterwards: the longest stall and the p99 of the operations
that overlapped it. :class:`LockSampler` polls ``pg_stat_activity`` and ``pg_locks`` on an owner
connection: which relation locks the other backends (the migration) held, and which workload
backends waited on whom, running which statement.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from harness.lifecycle import Database
from harness.rehearsal.volume import BulkTable
from harness.tenancy import bound_workspace

__all__ = ["LockSample", "LockSampler", "Operation", "Workload"]


@dataclass(frozen=True)
class Operation:
    started: float       # seconds since the rehearsal's clock started
    seconds: float
    kind: str            # read / write
    table: str
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class LockSample:
    at: float
    held: tuple[tuple[str, str], ...]      # (relation, mode) granted to a non-workload backend
    blocked: int                           # workload backends waiting on a lock
    blocker_statement: str                 # what the backend they wait on is running


@dataclass
class Targets:
    tenants: list[object] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)          # tables (regclass text)
    writes: list[BulkTable] = field(default_factory=list)


class Workload:
    def __init__(self, db: Database, setting: str, workers: int, think_time_s: float,
                 payload: dict, clock: float, lock_timeout_s: float,
                 unique_keys: tuple[str, ...] = ()) -> None:
        self.db, self.setting, self.payload, self.clock = db, setting, payload, clock
        self.unique_keys = unique_keys
        self.think, self.lock_timeout_s = think_time_s, lock_timeout_s
        self.targets = Targets()
        self.operations: list[Operation] = []
        self.pids: set[int] = set()
        self._stop, self._pause = threading.Event(), threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True,
                                          name=f"rehearsal-workload-{i}") for i in range(workers)]
        self._ready = threading.Barrier(workers + 1)
        self._conns: list[psycopg.Connection] = []

    def __enter__(self) -> Workload:
        for thread in self._threads:
            thread.start()
        self._ready.wait(timeout=60)
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop.set()
        if exc_type is not None:
            # interrupted (SIGINT, SIGTERM) or failed: a worker waiting on a lock would hold the
            # run for its whole lock timeout, so its statement is cancelled and the stop is prompt
            for conn in list(self._conns):
                with contextlib.suppress(Exception):
                    conn.cancel_safe(timeout=2)
        wait = 5.0 if exc_type is not None else self.lock_timeout_s + 10
        for thread in self._threads:
            thread.join(timeout=wait)

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def _work(self, index: int) -> None:
        with self.db.connect_app(prepare_threshold=None) as conn:
            self._conns.append(conn)
            conn.execute("select set_config('lock_timeout', %s, false)",
                         (f"{int(self.lock_timeout_s * 1000)}ms",))
            conn.commit()
            self.pids.add(conn.info.backend_pid)
            self._ready.wait(timeout=60)
            for n in itertools.count(index):
                if self._stop.is_set():
                    return
                targets = self.targets
                if self._pause.is_set() or not targets.tenants or not targets.reads:
                    time.sleep(0.02)
                    continue
                # odd steps write, even steps read; each kind walks its own list with n // 2, so
                # every table (and tenant) gets its turn whatever the lists' lengths
                tenant = targets.tenants[(n // 2) % len(targets.tenants)]
                if targets.writes and n % 2:
                    bulk = targets.writes[(n // 2) % len(targets.writes)]
                    self._timed(conn, "write", bulk.name, tenant, *bulk.one_row(tenant, self.payload, self.unique_keys))
                else:
                    table = targets.reads[(n // 2) % len(targets.reads)]
                    self._timed(conn, "read", table, tenant, sql.SQL(
                        "select count(*) from (select 1 from {} limit 20) s").format(sql.SQL(table)), [])
                time.sleep(self.think)

    def _timed(self, conn: psycopg.Connection, kind: str, table: str, tenant: object,
               query: sql.Composable, params: list) -> None:
        started = time.perf_counter()
        ok, error = True, ""
        try:
            with bound_workspace(conn, self.setting, tenant):
                conn.execute(query, params)
        except psycopg.Error as exc:
            ok, error = False, f"{exc.sqlstate}: {str(exc).splitlines()[0][:160]}"
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
        end = time.perf_counter()
        self.operations.append(Operation(started - self.clock, end - started, kind, table, ok, error))


class LockSampler:
    def __init__(self, db: Database, workload: Workload, interval_s: float, clock: float) -> None:
        self.db, self.workload, self.interval, self.clock = db, workload, interval_s, clock
        self.samples: list[LockSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="rehearsal-locks")

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        with self.db.connect_owner(autocommit=True) as conn:
            while not self._stop.is_set():
                mine = [conn.info.backend_pid, *self.workload.pids]
                at = time.perf_counter() - self.clock
                held = conn.execute(_HELD, (mine,)).fetchall()
                waits = conn.execute(_WAITS, (list(self.workload.pids),)).fetchall()
                blocked = len(waits)
                statement = next((w[0] for w in waits if w[0]), "")
                self.samples.append(LockSample(at, tuple((r, m) for r, m in held), blocked, statement))
                self._stop.wait(self.interval)


_HELD = """
select c.relname, l.mode from pg_locks l
join pg_stat_activity a on a.pid = l.pid and a.datname = current_database()
join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
where l.granted and l.locktype = 'relation' and not (l.pid = any(%s))
  and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
order by 1, 2"""

_WAITS = """
select (select left(b.query, 400) from pg_stat_activity b
        where b.pid = any(pg_blocking_pids(a.pid)) limit 1)
from pg_stat_activity a
where a.pid = any(%s) and a.wait_event_type = 'Lock'"""
