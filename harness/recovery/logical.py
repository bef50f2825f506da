"""Logical dump and restore: ``pg_dump -Fc`` of the target, ``pg_restore`` into a new database,
and one tenant's rows compared table by table with the source (plus RLS still forced)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from harness.core.findings import Finding
from harness.recovery.cluster import Cluster, RehearsalDirs, bin_path
from harness.recovery.dataset import DATABASE, Workload, adapter_for, checksums, prepare_target
from harness.recovery.profiles import RecoveryProfile
from harness.target import TargetSpec

__all__ = ["LogicalReport", "rehearse_logical"]


@dataclass
class LogicalReport:
    dump_seconds: float = 0.0
    restore_seconds: float = 0.0
    tenant_rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> dict:
        return {"dump_seconds": round(self.dump_seconds, 3),
                "restore_seconds": round(self.restore_seconds, 3), "tenant_rows": self.tenant_rows,
                "findings": [f.title() + ": " + f.problem for f in self.findings]}


def rehearse_logical(spec: TargetSpec, root: Path, profile: RecoveryProfile) -> LogicalReport:
    report = LogicalReport()
    dirs = RehearsalDirs(root)
    cluster = Cluster.create(dirs, "logical", {})
    dump = dirs.root / "backup" / "target.dump"
    try:
        owner, app = prepare_target(spec, cluster.admin)
        adapter = adapter_for(spec, owner, app)
        with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
            workload = Workload.made_by(conn, spec, adapter)   # as the point-in-time rehearsal's
            workload.add_tenants(profile.tenants)
            workload.write(profile.rows_per_table)
            tables, tenant, keys = workload.tables(), workload.tenants[0], workload.tenant_keys()
            source = checksums(conn, keys, tenant)
            rls_before = _rls_flags(conn, tables)
        report.tenant_rows = sum(s.rows for s in source.values())
        started = time.monotonic()
        dirs.run([bin_path("pg_dump"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                  cluster.admin.user, "-Fc", "-f", str(dump), "--no-password", DATABASE],
                 "pg_dump", password=cluster.password)
        report.dump_seconds = time.monotonic() - started
        with psycopg.connect(cluster.admin.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier("restored")))
        started = time.monotonic()
        dirs.run([bin_path("pg_restore"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                  cluster.admin.user, "-d", "restored", "--exit-on-error", "--no-password", str(dump)],
                 "pg_restore", password=cluster.password)
        report.restore_seconds = time.monotonic() - started
        with psycopg.connect(cluster.admin.with_db("restored").conninfo()) as conn:
            restored = checksums(conn, keys, tenant)
            rls_after = _rls_flags(conn, tables)
        for table in tables:
            if restored[table] != source[table]:
                report.findings.append(Finding(
                    table, "logical-restore-rows",
                    f"one tenant's rows after pg_restore: {restored[table].rows} (md5 "
                    f"{restored[table].digest}); source {source[table].rows} (md5 {source[table].digest})",
                    "a logical restore must bring every row back unchanged"))
        # what the restore changed, not what the schema never had (the standards items judge that)
        report.findings += [Finding(t, "logical-restore-rls", f"row-level security (enabled, forced) "
                                    f"was {rls_before[t]} on the source and is {rls_after.get(t)} "
                                    "after pg_restore", "keep RLS in the schema, not in a setup script")
                            for t in tables if rls_after.get(t) != rls_before[t]]
        return report
    finally:
        cluster.stop()


def _rls_flags(conn: psycopg.Connection, tables: list[str]) -> dict[str, tuple[bool, bool]]:
    rows = conn.execute("""
        select n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where (n.nspname || '.' || c.relname) = any(%s)""", (tables,)).fetchall()
    return {name: (enabled, forced) for name, enabled, forced in rows}
