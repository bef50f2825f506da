"""The backup and restore rehearsal: a base backup, WAL archiving, point-in-time recovery.

1. A durable source cluster archives its WAL (the spec's ``standards.archive_command``, or a
   plain copy into the rehearsal's archive); the target is migrated and a tenant workload seeded.
2. ``pg_basebackup`` takes a base backup (with its manifest); writes go on.
3. The source is fingerprinted (per-table checksums) and a named restore point is created; WAL
   is switched so the point is archived; more writes follow that must *not* be restored.
4. ``pg_verifybackup`` checks the backup against its manifest.
5. The backup is restored into a new cluster that replays the archive to the restore point and
   promotes. The clock runs from "restore starts" to "the app role serves a tenant query".
6. The restored copy must match the fingerprint table by table, pass ``amcheck`` (B-tree indexes
   and heaps), and still hold the security model: the app role is no superuser and cannot bypass
   RLS, a tenant bound as its principal sees what it saw on the source at the restore point,
   nothing is visible unbound.
7. More than rows (:mod:`harness.recovery.afterwards`): every sequence hands out values above
   its column's maximum, the next write into every tenant table is accepted, and the app role's
   sessions run with durable settings on the copy.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg import sql

from harness.core.findings import Finding
from harness.errors import BackendUnavailable
from harness.recovery.afterwards import durability_findings, sequence_findings, write_findings
from harness.recovery.cluster import Cluster, RehearsalDirs, bin_path
from harness.recovery.dataset import (
    DATABASE,
    TableSum,
    Workload,
    adapter_for,
    checksums,
    prepare_target,
)
from harness.recovery.profiles import RecoveryProfile
from harness.secrets import ConnParams
from harness.target import BindingSpec, TargetSpec
from harness.tenancy import Principal, bound

__all__ = ["RestoreReport", "rehearse_restore"]

RESTORE_POINT = "harness_restore_point"


@dataclass
class RestoreReport:
    profile: str
    rows_at_restore_point: int = 0
    backup_seconds: float = 0.0
    recovery_seconds: float | None = None
    findings: list[Finding] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def summary(self) -> dict:
        return {"profile": self.profile, "rows_at_restore_point": self.rows_at_restore_point,
                "backup_seconds": round(self.backup_seconds, 3),
                "recovery_seconds": None if self.recovery_seconds is None else round(self.recovery_seconds, 3),
                "timeline": [(round(t, 3), what) for t, what in self.timeline],
                "findings": [f.title() + ": " + f.problem for f in self.findings]}


def rehearse_restore(spec: TargetSpec, root: Path, profile: RecoveryProfile) -> RestoreReport:
    report = RestoreReport(profile.name)
    clock = time.monotonic()

    def mark(what: str) -> None:
        report.timeline.append((time.monotonic() - clock, what))

    dirs = RehearsalDirs(root)
    archive_command = (spec.standards.archive_command or "cp %p {archive}/%f").replace(
        "{archive}", str(dirs.archive))
    source = Cluster.create(dirs, "source", {"archive_mode": "on", "archive_command": archive_command})
    restored: Cluster | None = None
    try:
        owner, app = prepare_target(spec, source.admin)
        adapter = adapter_for(spec, owner, app)
        mark("source migrated")
        with psycopg.connect(owner.conninfo(), autocommit=True) as conn:
            # tenants the adapter makes when it can: their principals carry what the binding
            # needs (graphile-starter binds a session id, which only the product can make)
            workload = Workload.made_by(conn, spec, adapter)
            workload.add_tenants(profile.tenants)
            workload.write(profile.rows_per_table)
            mark("workload seeded")
            started = time.monotonic()
            dirs.run([bin_path("pg_basebackup"), "-h", "127.0.0.1", "-p", str(source.port), "-U",
                      source.admin.user, "-D", str(dirs.backup), "-X", "stream", "-c", "fast",
                      "--no-password"], "pg_basebackup", password=source.password)
            report.backup_seconds = time.monotonic() - started
            mark("base backup taken")
            workload.write(profile.rows_after_backup)
            tables, keys = workload.tables(), workload.tenant_keys()
            at_point = checksums(conn, keys)
            tenant = workload.tenants[0]
            principal = workload.factory.principal_of(tenant)
            principals = {t: workload.factory.principal_of(t) for t in workload.tenants}
            # what the app role, bound as the tenant's principal, sees at the point: the
            # restored copy must show the same (RLS and grants restored with the data)
            binding = workload.factory.binding   # the whole binding when the adapter made the tenants
            seen_at_point = {t: _tenant_count(app, binding, t, principal) for t in tables}
            report.rows_at_restore_point = sum(s.rows for s in at_point.values())
            conn.execute("select pg_create_restore_point(%s)", (RESTORE_POINT,))
            segment = conn.execute("select pg_walfile_name(pg_switch_wal())").fetchone()[0]
            _wait_archived(conn, segment, report)
            mark("restore point created and archived")
            workload.write(1)  # after the point: must not come back
        report.findings += _verify_backup(dirs)
        mark("backup verified")
        served = next((t for t in tables if seen_at_point[t]), tables[0])   # a table it reads
        restored, seconds = _restore(dirs, source.password, app, binding, served, principal, report)
        if restored is None:
            return report
        report.recovery_seconds = seconds
        mark("restored copy promoted; the app role served a tenant query")
        report.findings += _compare(restored, app, tables, spec, binding, at_point, principal, seen_at_point)
        report.findings += _amcheck(restored, spec)
        report.findings += _afterwards(restored, owner, app, spec, principals)
        mark("restored copy verified, and took a write")
        return report
    finally:
        if restored is not None:
            restored.stop()
        source.stop()


def _wait_archived(conn: psycopg.Connection, segment: str, report: RestoreReport) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        archived, failed = conn.execute(
            "select last_archived_wal, last_failed_wal from pg_stat_archiver").fetchone()
        if archived is not None and archived >= segment:
            return
        time.sleep(0.1)
    report.findings.append(Finding("WAL archive", "archive-lag",
                                   f"segment {segment} with the restore point was not archived in 30 s "
                                   f"(last failed: {failed})", "fix archive_command"))


def _verify_backup(dirs: RehearsalDirs) -> list[Finding]:
    try:
        dirs.run([bin_path("pg_verifybackup"), str(dirs.backup)], "pg_verifybackup")
    except BackendUnavailable as exc:
        return [Finding("base backup", "pg_verifybackup", str(exc),
                        "the backup does not match its manifest: take it again")]
    return []


def _restore(dirs: RehearsalDirs, password: str, app: ConnParams, binding: BindingSpec, table: str,
             principal: Principal, report: RestoreReport) -> tuple[Cluster | None, float | None]:
    """Restores the backup, replays to the restore point, waits for the app role to be served."""
    started = time.monotonic()
    pgdata = dirs.root / "restored"
    record = Cluster.record_for(pgdata)        # before the copy: a kill mid-way leaves nothing
    shutil.copytree(dirs.backup, pgdata)
    if dirs.run_as:
        for path in [pgdata, *pgdata.rglob("*")]:
            shutil.chown(path, dirs.run_as, dirs.run_as)
    pgdata.chmod(0o700)
    (pgdata / "recovery.signal").touch()
    # the same cluster, so the same superuser password
    cluster = Cluster(dirs, pgdata, password, record=record)
    cluster.configure({"restore_command": f"cp {dirs.archive}/%f %p",
                       "recovery_target_name": RESTORE_POINT, "recovery_target_action": "promote",
                       "archive_mode": "off"})
    try:
        cluster.start()
        cluster.wait_ready()
        _tenant_count(_on(cluster, app), binding, table, principal)
    except (BackendUnavailable, psycopg.Error) as exc:
        cluster.stop()
        report.findings.append(Finding(
            "restore", "point-in-time-recovery",
            f"the restored copy did not reach restore point {RESTORE_POINT} and serve the app "
            f"role: {str(exc)[-700:]}",
            "archive every WAL segment (archive_command must fail when it cannot store the "
            "file) and keep the archive with the base backup"))
        return None, None
    return cluster, time.monotonic() - started


def _on(cluster: Cluster, params: ConnParams) -> ConnParams:
    return replace(params, port=cluster.port)


def _tenant_count(app: ConnParams, binding: BindingSpec, table: str,
                  principal: Principal | None) -> int | None:
    """Rows of ``table`` the app role sees bound as ``principal`` (None: as nobody, the binding's
    role with no setting); None when the role it acts as may not read the table at all (a design
    that serves a table only through functions, e.g. invitations: its grants are compared, as
    "not readable", with the restore point's)."""
    schema, name = table.split(".", 1)
    relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    with psycopg.connect(app.conninfo()) as conn, bound(conn, binding, principal):
        if not conn.execute("select has_any_column_privilege(%s::regclass, 'SELECT')",
                            (relation.as_string(conn),)).fetchone()[0]:
            return None
        return conn.execute(sql.SQL("select count(*) from {}").format(relation)).fetchone()[0]


def _shown(rows: int | None) -> str:
    return "not readable (no SELECT grant)" if rows is None else f"{rows} rows"


def _compare(cluster: Cluster, app: ConnParams, tables: list[str], spec: TargetSpec, binding: BindingSpec,
             at_point: dict[str, TableSum], principal: Principal,
             seen_at_point: dict[str, int | None]) -> list[Finding]:
    found = []
    with psycopg.connect(cluster.admin.with_db(DATABASE).conninfo()) as conn:
        restored = checksums(conn, dict.fromkeys(tables, ""))
        flags = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = %s",
                             (spec.app_role,)).fetchone()
    for table in tables:
        if restored[table] != at_point[table]:
            found.append(Finding(table, "restored-rows",
                                 f"restored {restored[table].rows} rows (md5 {restored[table].digest}); "
                                 f"at the restore point {at_point[table].rows} "
                                 f"(md5 {at_point[table].digest})",
                                 "the restore must replay exactly to the restore point"))
    if flags is None or any(flags):
        found.append(Finding(f"role {spec.app_role}", "restored-app-role",
                             f"on the restored copy the app role is {flags}",
                             "restore roles with the data (pg_dumpall --roles-only for logical copies)"))
    for table in tables:
        seen = _tenant_count(_on(cluster, app), binding, table, principal)
        unbound = _tenant_count(_on(cluster, app), binding, table, None)
        if seen != seen_at_point[table] or unbound not in (0, None):
            found.append(Finding(table, "restored-rls",
                                 f"as the app role bound to one tenant: {_shown(seen)} (expected "
                                 f"{_shown(seen_at_point[table])}, as on the source at the restore "
                                 f"point); unbound: {_shown(unbound)} (expected 0 rows)",
                                 "row-level security and grants must survive the restore"))
    if not any(seen_at_point.values()):
        found.append(Finding(f"principal {principal.describe()}", "restored-rls",
                             "bound as its principal, the tenant saw none of its rows on the source "
                             "either: the comparison proves nothing",
                             "check the spec's binding (and tenancy.root_owner) against the policies"))
    return found


def _afterwards(cluster: Cluster, owner: ConnParams, app: ConnParams, spec: TargetSpec,
                principals: dict[object, Principal]) -> list[Finding]:
    """Sequences ahead of their rows, durable settings, then one more write per tenant table."""
    owner, app = _on(cluster, owner), _on(cluster, app)
    schemas = list(spec.tenancy.schemas)
    with psycopg.connect(owner.conninfo(), autocommit=True) as conn, \
            psycopg.connect(app.conninfo(), autocommit=True) as app_conn:
        found = sequence_findings(conn, schemas) + durability_findings(app_conn, conn, schemas)
        # made as the source's was, so its binding is the one the principals were made for
        workload = Workload.made_by(conn, spec, adapter_for(spec, owner, app))
        workload.tenants = list(principals)
        for tenant, principal in principals.items():
            workload.factory.principals[str(tenant)] = principal
        return found + write_findings(workload, "on the restored copy")


def _amcheck(cluster: Cluster, spec: TargetSpec) -> list[Finding]:
    """amcheck over every B-tree index and heap of the judged schemas on the restored copy."""
    found = []
    with psycopg.connect(cluster.admin.with_db(DATABASE).conninfo(), autocommit=True) as conn:
        conn.execute("create extension if not exists amcheck")
        relations = conn.execute("""
            select c.oid::regclass::text, c.relkind, am.amname
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              left join pg_am am on am.oid = c.relam
             where n.nspname = any(%s) and (c.relkind = 'r' or (c.relkind = 'i' and am.amname = 'btree'))
             order by 1""", (list(spec.tenancy.schemas),)).fetchall()
        for name, kind, _ in relations:
            try:
                if kind == "i":
                    conn.execute("select bt_index_check(%s::regclass, true)", (name,))
                else:
                    bad = conn.execute("select blkno, offnum, msg from verify_heapam(%s::regclass) "
                                       "limit 5", (name,)).fetchall()
                    if bad:
                        found.append(Finding(name, "amcheck-heap", f"corruption: {bad}",
                                             "restore from another backup"))
            except psycopg.Error as exc:
                found.append(Finding(name, "amcheck", str(exc).splitlines()[0],
                                     "restore from another backup; REINDEX if only an index is hit"))
    return found
