"""Crash durability: every acknowledged commit survives a SIGKILL, no partial transaction shows.

Jepsen's standard, on the target's own tables: writers run transactions that each insert one
row into every tenant table of the target (through the row factory, parents first) and record
the transaction as *acknowledged* only after ``COMMIT`` returned. The postmaster of a durable
cluster (``fsync=on``, ``synchronous_commit=on``) is killed with SIGKILL mid-workload and
restarted, replaying its WAL. Then every acknowledged transaction must be there in full, and
every transaction in flight at the kill must be there in full or not at all. An UNLOGGED table
fails this: crash recovery empties it. Then the recovered cluster must take the next write:
sequences ahead of their rows, one more row per tenant table accepted
(:mod:`harness.recovery.afterwards`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg import sql

from harness.core.findings import Finding
from harness.recovery.afterwards import sequence_findings, write_findings
from harness.recovery.cluster import Cluster, RehearsalDirs
from harness.recovery.dataset import Workload, overrides_for, prepare_target
from harness.recovery.profiles import RecoveryProfile
from harness.target import TargetSpec
from harness.tenancy import Principal

__all__ = ["CrashReport", "rehearse_crash"]


@dataclass
class CrashReport:
    acknowledged: int = 0
    in_flight: int = 0
    restart_seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> dict:
        return {"acknowledged_transactions": self.acknowledged, "in_flight_at_kill": self.in_flight,
                "restart_seconds": round(self.restart_seconds, 3),
                "findings": [f.title() + ": " + f.problem for f in self.findings]}


@dataclass
class _Txn:
    rows: list[tuple[str, tuple]]     # (table, primary key) written in the transaction
    acknowledged: bool = False


def _writer(owner_conninfo: str, spec: TargetSpec, overrides, principal: Principal,
            stop: threading.Event, log: list[_Txn], errors: list[tuple[float, str]],
            running: threading.Event) -> None:
    """Commits one row per tenant table per transaction until ``stop``; sets ``running`` once
    its first timed transaction is acknowledged (or once it can no longer write)."""
    tenant = principal.tenant_id
    try:
        with psycopg.connect(owner_conninfo, autocommit=True) as conn:
            workload = Workload(conn, spec, overrides)
            # the seeding's principal (its user, for triggers reading auth.uid())
            workload.factory.principals[str(tenant)] = principal
            root = workload.catalog.tenant_root
            tables = [t for t in workload.catalog.tenant_tables
                      if t.primary_key and (root is None or t.qualified != root.qualified)]
            # one row per table first, in one transaction (one fsync, not one per table: on a
            # loaded machine a commit per table left no time to acknowledge anything before the
            # kill); the row factory's CHECK probes run in savepoints, so a refused candidate
            # does not end it, and the strategies it learns make the timed rows cheap
            with conn.transaction():
                for table in tables:
                    workload.factory.insert(table, tenant)
            while not stop.is_set():
                txn = _Txn([])
                log.append(txn)
                with conn.transaction():
                    for table in tables:
                        row = workload.factory.insert(table, tenant)
                        txn.rows.append((row.table, row.key))
                txn.acknowledged = True   # COMMIT returned
                running.set()
    except psycopg.OperationalError:
        return  # the server was killed under us: what was acknowledged is in the log
    except Exception as exc:  # the workload itself broke (before the kill): it proves nothing
        errors.append((time.monotonic(), f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
    finally:
        running.set()


def _present(conn: psycopg.Connection, table: str, key_columns: tuple[str, ...], key: tuple) -> bool:
    schema, name = table.split(".", 1)
    where = sql.SQL(" and ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key_columns)
    query = sql.SQL("select exists (select 1 from {}.{} where {})").format(
        sql.Identifier(schema), sql.Identifier(name), where)
    return conn.execute(query, key).fetchone()[0]


def rehearse_crash(spec: TargetSpec, root: Path, profile: RecoveryProfile) -> CrashReport:
    report = CrashReport()
    dirs = RehearsalDirs(root)
    cluster = Cluster.create(dirs, "crash", {})
    try:
        owner, app = prepare_target(spec, cluster.admin)
        overrides = overrides_for(spec, owner, app)
        with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
            seed = Workload(conn, spec, overrides)
            seed.add_tenants(profile.crash_writers)
            seed.write(1)   # global parents exist before the writers race to reference them
            keys = {t.qualified: t.primary_key for t in seed.catalog.tenant_tables}
            tenants = [seed.factory.principal_of(t) for t in seed.tenants]
        stop = threading.Event()
        logs: list[list[_Txn]] = [[] for _ in tenants]
        errors: list[tuple[float, str]] = []
        running = [threading.Event() for _ in tenants]
        writers = [threading.Thread(target=_writer, args=(owner.conninfo(), spec, overrides, tenant,
                                                          stop, log, errors, started), daemon=True)
                   for tenant, log, started in zip(tenants, logs, running, strict=True)]
        began = time.monotonic()
        for writer in writers:
            writer.start()
        _await_workload(running, began, profile)
        killed_at = time.monotonic()  # errors after this are the crash itself, seen mid-statement
        cluster.crash()
        stop.set()
        for writer in writers:
            writer.join(30)
        report.restart_seconds = cluster.start()
        txns = [t for log in logs for t in log if t.rows]
        report.acknowledged = sum(t.acknowledged for t in txns)
        report.in_flight = sum(not t.acknowledged for t in txns)
        with psycopg.connect(replace(owner, port=cluster.port).conninfo()) as conn:
            report.findings += _judge(conn, txns, keys)
        report.findings += _afterwards(spec, replace(owner, port=cluster.port),
                                       replace(app, port=cluster.port), overrides, tenants)
        report.findings += [Finding("workload", "crash-workload", f"a writer failed before the kill: {e}",
                                    "fix the workload (row_overrides) so the rehearsal can run")
                            for at, e in errors if at < killed_at]
        if report.acknowledged == 0:
            report.findings.append(Finding("workload", "crash-workload",
                                           "no transaction was acknowledged before the kill (the "
                                           f"writers had {profile.rto_seconds:g} s, the RTO, to commit "
                                           "one each)", "see the writers' errors; check the "
                                           "workload's writes (row_overrides) and the disk's fsync"))
        return report
    finally:
        cluster.stop()


def _await_workload(running: list[threading.Event], began: float, profile: RecoveryProfile) -> None:
    """The kill lands mid-workload: after the profile's seconds *and* once every writer has an
    acknowledged transaction. A fixed delay alone raced the writers' own setup (connect, read
    the catalog, seed a row per table with fsync on): on a loaded machine it outlasted the
    delay and nothing was acknowledged before the kill, a failure of the rehearsal, not of the
    target. Bounded by the RTO, past which the writers are stuck and "nothing acknowledged"
    stands as the finding."""
    time.sleep(profile.crash_after_seconds)
    deadline = began + max(profile.rto_seconds, profile.crash_after_seconds)
    for event in running:
        event.wait(max(0.0, deadline - time.monotonic()))


def _afterwards(spec: TargetSpec, owner, app, overrides, tenants: list[Principal]) -> list[Finding]:
    """After the restart: sequences ahead of their rows, and the next write accepted."""
    with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
        found = sequence_findings(conn, list(spec.tenancy.schemas))
        workload = Workload(conn, spec, overrides)
        workload.tenants = [p.tenant_id for p in tenants]
        for principal in tenants:
            workload.factory.principals[str(principal.tenant_id)] = principal
        return found + write_findings(workload, "after the crash")


def _judge(conn: psycopg.Connection, txns: list[_Txn], keys: dict[str, tuple]) -> list[Finding]:
    lost: dict[str, int] = {}
    partial = []
    for txn in txns:
        present = [_present(conn, table, keys[table], key) for table, key in txn.rows]
        if txn.acknowledged:
            for (table, _), there in zip(txn.rows, present, strict=True):
                if not there:
                    lost[table] = lost.get(table, 0) + 1
        elif any(present) and not all(present):
            partial.append([t for (t, _), there in zip(txn.rows, present, strict=True) if there])
    found = [Finding(table, "acknowledged-commit-lost",
                     f"{count} row(s) of acknowledged commits are gone after crash recovery",
                     f"a table that must survive a crash is WAL-logged: ALTER TABLE {table} SET LOGGED; "
                     "never run production with fsync=off")
             for table, count in sorted(lost.items())]
    if partial:
        found.append(Finding("transactions", "partial-transaction-visible",
                             f"{len(partial)} unacknowledged transaction(s) are partly present: "
                             f"{partial[:3]}", "no write outside the transaction"))
    return found
