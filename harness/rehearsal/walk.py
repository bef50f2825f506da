"""The step-by-step round trip: base to head one revision at a time, down and up at each.

At each revision the walk upgrades one step and takes a schema snapshot; judges the tenant
posture of every table the step created (an unscoped table is caught at the revision that added
it); seeds a row in every table (the tenant suite's row factory, with the adapter's
``row_overrides``); then downgrades one step (the snapshot must equal the previous one exactly,
and the data that existed before must be unchanged) and upgrades again (the snapshot must equal
this one, and the rows seeded before the downgrade must be unchanged in every column that
exists on both sides). A one-way door is upgraded only. At the end, :func:`no_trace` rolls the
chain back to base (or to the last one-way door) and compares with the snapshot taken there.

Everything runs through the migration-tool Protocol; the result is a plain :class:`Walk` that
the scenarios judge, one property per test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from harness.core import RowFactory, SeedingFailure, read_catalog
from harness.core.findings import Finding as IsolationFinding
from harness.core.rows import scoped_map, seeding_binding
from harness.isolation import coverage, posture_findings
from harness.lifecycle import Database
from harness.migrations import BASE, MigrationTool, Revision
from harness.rehearsal.checksums import TableRows, changed_rows, checksum, read_rows
from harness.rehearsal.failures import Finding
from harness.rehearsal.history import bookkeeping_tables
from harness.rehearsal.snapshot import Snapshot, difference, take_snapshot
from harness.target import TargetSpec

__all__ = ["Step", "Walk", "no_trace", "walk_chain"]

Overrides = Callable[[str], dict]


@dataclass
class Step:
    revision: Revision
    up_s: float = 0.0
    down_s: float | None = None          # None: a one-way door, or never reached
    reup_s: float | None = None
    new_tables: tuple[str, ...] = ()
    snapshot_objects: int = 0
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class Walk:
    steps: list[Step] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)       # revisions upgraded to, in order
    forward: list[Finding] = field(default_factory=list)   # the chain does not apply
    posture: list[Finding] = field(default_factory=list)   # new tables not tenant-scoped
    round_trip: list[Finding] = field(default_factory=list)
    data: list[Finding] = field(default_factory=list)
    one_way: list[str] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)   # revision (or base) -> snapshot

    def timings(self) -> list[dict]:
        return [{"revision": s.revision.id, "up_s": round(s.up_s, 3),
                 "down_s": None if s.down_s is None else round(s.down_s, 3),
                 "reup_s": None if s.reup_s is None else round(s.reup_s, 3),
                 "new_tables": list(s.new_tables), "objects": s.snapshot_objects}
                for s in self.steps]


def walk_chain(tool: MigrationTool, spec: TargetSpec, db: Database,
               overrides: Overrides | None = None) -> Walk:
    """Walks ``db`` (an empty database) from base to head; returns what it found."""
    walk = Walk()
    ignore = bookkeeping_tables(tool)
    # no prepared statements: a step that changes a column's type would make the next reuse of a
    # plan fail with "cached plan must not change result type" (the walk reads the same tables
    # before and after every step)
    with db.connect_owner(autocommit=True, prepare_threshold=None) as conn:
        prev = take_snapshot(conn, ignore)
        walk.snapshots[BASE] = prev
        prev_rows: TableRows = {}
        for rev in tool.revisions():
            step = Step(rev)
            walk.steps.append(step)
            started = time.perf_counter()
            try:
                tool.upgrade(db.owner, rev.id)
            except Exception as exc:
                walk.forward.append(Finding(rev.id, "upgrade", f"upgrade to {rev.id} failed: "
                                            f"{type(exc).__name__}: {exc}"))
                return walk
            step.up_s = time.perf_counter() - started
            walk.applied.append(rev.id)
            snap = take_snapshot(conn, ignore)
            step.snapshot_objects = snap.count()
            step.new_tables = tuple(sorted(set(snap.tables) - set(prev.tables)))
            walk.posture.extend(_posture(conn, spec, rev.id, step.new_tables))
            before_seed = read_rows(conn, snap)
            _seed(conn, spec, walk, rev.id, overrides, ignore)
            rows = read_rows(conn, snap)
            step.checksums = _checksums(rows)
            walk.snapshots[rev.id] = snap
            if not rev.reversible:
                walk.one_way.append(rev.id)
            elif not _round_trip(tool, db, conn, walk, step, prev, snap, prev_rows, before_seed, rows):
                return walk
            else:
                # the step's own tables came back empty: refill, so the next step's round trip
                # has rows in every table to keep
                _seed(conn, spec, walk, rev.id, overrides, ignore)
            prev, prev_rows = snap, read_rows(conn, snap)
    return walk


def _round_trip(tool: MigrationTool, db: Database, conn: psycopg.Connection, walk: Walk,
                step: Step, prev: Snapshot, snap: Snapshot, prev_rows: TableRows,
                before_seed: TableRows, rows: TableRows) -> bool:
    rev, ignore = step.revision, bookkeeping_tables(tool)
    parent = rev.parents[0] if rev.parents else BASE
    try:
        started = time.perf_counter()
        tool.downgrade(db.owner, parent)
        step.down_s = time.perf_counter() - started
    except Exception as exc:
        walk.round_trip.append(Finding(rev.id, "downgrade", f"downgrade {rev.id} -> {parent} failed: "
                                       f"{type(exc).__name__}: {exc}"))
        return False
    down = take_snapshot(conn, ignore)
    shown = difference(prev, down, f"at {parent}", f"after downgrade of {rev.id}")
    if shown is not None:
        walk.round_trip.append(Finding(
            rev.id, "round-trip:down", f"after downgrading {rev.id} the schema is not what it was "
            f"at {parent}: the downgrade forgets (or adds) what the diff shows", shown))
    both = {t: tuple(c for c in prev.tables[t] if c in snap.tables.get(t, ()))
            for t in prev.tables if t in snap.tables and t in down.tables}
    down_rows = read_rows(conn, down)
    seeded = {t: set(rows.get(t, {})) - set(before_seed.get(t, {})) for t in both}
    # rows that existed at the parent keep every column; rows seeded here keep the shared ones
    lost = changed_rows(prev_rows, down_rows, {t: set(prev_rows.get(t, {})) for t in both},
                        {t: prev.tables[t] for t in both})
    lost += changed_rows(rows, down_rows, seeded, both)
    _report_data(walk, rev.id, f"up then down ({rev.id} -> {parent})", lost)
    try:
        started = time.perf_counter()
        tool.upgrade(db.owner, rev.id)
        step.reup_s = time.perf_counter() - started
    except Exception as exc:
        walk.round_trip.append(Finding(rev.id, "re-upgrade", f"upgrading {rev.id} again after its "
                                       f"downgrade failed: {type(exc).__name__}: {exc}"))
        return False
    again = take_snapshot(conn, ignore)
    shown = difference(snap, again, f"at {rev.id}", f"after down and up of {rev.id}")
    if shown is not None:
        walk.round_trip.append(Finding(
            rev.id, "round-trip:up", f"upgrading {rev.id} again after its downgrade does not give "
            "the same schema", shown))
    kept = {t: set(prev_rows.get(t, {})) | seeded[t] for t in both}
    _report_data(walk, rev.id, f"down then up ({parent} -> {rev.id})",
                 changed_rows(rows, read_rows(conn, again), kept, both))
    return True


def _report_data(walk: Walk, revision: str, what: str, lost: list) -> None:
    if lost:
        walk.data.append(Finding(revision, "data", f"{what} changed or lost rows in "
                                 f"{', '.join(c.table for c in lost)}",
                                 "\n\n".join(c.text() for c in lost)))


def _checksums(rows: TableRows) -> dict[str, str]:
    return {t: f"{checksum(r)} ({len(r)} rows)" for t, r in sorted(rows.items())}


def _posture(conn: psycopg.Connection, spec: TargetSpec, revision: str,
             new_tables: tuple[str, ...]) -> list[Finding]:
    if not new_tables:
        return []
    catalog = read_catalog(conn, spec)
    cov = coverage(catalog, spec)
    scoped = scoped_map(catalog, spec.tenancy.scoped_through)
    found = []
    for table in catalog.tables:
        if table.qualified not in new_tables and table.name not in new_tables:
            continue
        if table.qualified in scoped:
            if not table.rls_enabled:   # scoped through its parent: its policy must still be on
                found.append(Finding(revision, "posture:rls-enabled", f"{table.qualified} is scoped "
                                     "through its parent but row-level security is not enabled"))
        elif table.qualified in cov.uncovered:
            found.append(Finding(revision, "posture:coverage", f"{table.qualified} has no "
                                 f"{catalog.tenant_column} and is not on tenancy.global_tables"))
        elif catalog.is_tenant(table):
            found.extend(Finding(revision, f"posture:{f.check}", f"{f.subject}: {f.problem}",
                                 f.text()) for f in posture_findings(table, catalog, spec)
                         if _unscoped(f))
    return found


# what makes a new table unscoped (the rehearsal's question); FORCE, the tenant index and
# commands no policy covers (deny by default) are the isolation and standards items' business
_UNSCOPED = ("rls-enabled", "tenant-not-null")


def _unscoped(finding: IsolationFinding) -> bool:
    if finding.advisory:
        return False
    # a policy finding with the policy's text is a policy that admits every row
    return finding.check in _UNSCOPED or (finding.check.startswith("policy:") and bool(finding.detail))


def _seed(conn: psycopg.Connection, spec: TargetSpec, walk: Walk, revision: str,
          overrides: Overrides | None, ignore: tuple[str, ...]) -> None:
    """One new tenant with a row in every table, and a row in every global table."""
    catalog = read_catalog(conn, spec)
    if not catalog.tables:
        return
    scoped = scoped_map(catalog, spec.tenancy.scoped_through)
    factory = RowFactory(conn, catalog, seeding_binding(spec.binding, spec.tenancy.root_owner),
                         overrides, root_owner=spec.tenancy.root_owner, scoped_through=scoped)
    try:
        tenant = factory.new_tenant() if catalog.tenant_tables else None
        for table in catalog.tables:
            if table.from_extension or (catalog.tenant_root and table.qualified == catalog.tenant_root.qualified):
                continue
            if table.name in ignore or table.qualified in ignore:
                continue
            in_tenant = catalog.is_tenant(table) or table.qualified in scoped
            factory.insert(table, tenant if in_tenant else None)
    except SeedingFailure as exc:
        walk.data.append(Finding(revision, "seed", f"cannot seed rows at {revision}: {exc.message}",
                                 "\n".join(text for _, text in exc.context)))
    except psycopg.Error as exc:  # the database refused a generated row: shown, never a crash
        walk.data.append(Finding(revision, "seed", f"cannot seed rows at {revision}: "
                                 f"{exc.sqlstate} {str(exc).splitlines()[0]}", str(exc)))


def no_trace(tool: MigrationTool, db: Database, walk: Walk) -> list[Finding]:
    """Rolls the walked database back to base (or the last one-way door) and compares."""
    target = walk.one_way[-1] if walk.one_way else BASE
    try:
        tool.downgrade(db.owner, target)
    except Exception as exc:
        return [Finding(target, "no-trace", f"downgrade to {target} failed: {type(exc).__name__}: {exc}")]
    with db.connect_owner(autocommit=True, prepare_threshold=None) as conn:
        left = take_snapshot(conn, bookkeeping_tables(tool))
    shown = difference(walk.snapshots[target], left, f"at {target} on the way up",
                       f"after rollback to {target}")
    if shown is None:
        return []
    return [Finding(target, "no-trace", f"rolling the chain back to {target} leaves application "
                    "objects behind (or removes some it should keep)", shown)]
