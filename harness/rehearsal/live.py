"""The live-load rehearsal: every upgrade and downgrade at volume, under tenant traffic.

On an empty database the chain is upgraded one revision at a time while the background workload
runs; after each step the tables it created are filled with the profile's volume (the workload
pauses meanwhile: seeding is not a migration step). At head the chain is rolled back one
revision at a time, down to base or to the last one-way door. Each step records its duration,
the workload's longest stall and p99 during it, the relation locks the migration held (from the
sampler) and the statement the workload waited on. A step whose longest stall exceeds the lock
budget is a finding. The whole chain's upgrade plus rollback time is the release-window metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from psycopg import sql

from harness.core import RowFactory, read_catalog
from harness.core.rows import seeding_binding
from harness.lifecycle import Database
from harness.migrations import BASE, MigrationTool
from harness.rehearsal.failures import Finding
from harness.rehearsal.history import bookkeeping_tables
from harness.rehearsal.profile import RehearsalConfig
from harness.rehearsal.volume import BulkTable, bulk_tables
from harness.rehearsal.workload import LockSample, LockSampler, Operation, Workload
from harness.target import TargetSpec

__all__ = ["LiveRehearsal", "StepUnderLoad", "rehearse_live"]


@dataclass
class StepUnderLoad:
    revision: str
    direction: str          # upgrade / downgrade
    start: float
    end: float
    operations: int = 0
    longest_stall_s: float = 0.0
    p99_s: float = 0.0
    locks: dict[str, float] = field(default_factory=dict)   # "relation mode" -> seconds held
    waited_on: str = ""
    error: str = ""
    # tables with tenant traffic that the step rewrote (new relfilenode: ALTER TYPE, CLUSTER,
    # VACUUM FULL, REINDEX of their indexes) -> their rows after the step
    rewritten: dict[str, int] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict:
        return {"revision": self.revision, "direction": self.direction,
                "seconds": round(self.seconds, 3), "operations": self.operations,
                "longest_stall_s": round(self.longest_stall_s, 3), "p99_s": round(self.p99_s, 3),
                "locks_held_s": {k: round(v, 3) for k, v in self.locks.items()},
                "workload_waited_on": self.waited_on, "error": self.error,
                "rewritten_tables_rows": self.rewritten}


@dataclass
class LiveRehearsal:
    profile: str
    budget_s: float
    rows_seeded: dict[str, int] = field(default_factory=dict)
    steps: list[StepUnderLoad] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    samples: list[LockSample] = field(default_factory=list)
    not_rolled_back: list[str] = field(default_factory=list)
    seed_seconds: float = 0.0

    def chain_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def findings(self) -> list[Finding]:
        found = []
        for s in self.steps:
            if s.error:
                found.append(Finding(s.revision, f"{s.direction}-under-load", s.error))
            found.extend(_rewrite_findings(s, self.budget_s))
            if s.longest_stall_s > self.budget_s:
                held = "\n".join(f"  {k}: held {v:.2f} s" for k, v in sorted(s.locks.items()))
                found.append(Finding(
                    s.revision, "lock-budget",
                    f"{s.direction} of {s.revision} stalled the tenant workload for "
                    f"{s.longest_stall_s:.2f} s (p99 {s.p99_s:.2f} s), over the {self.budget_s:g} s "
                    f"lock budget; the step took {s.seconds:.2f} s",
                    f"statement the workload waited on:\n  {s.waited_on or '(not sampled)'}\n"
                    f"locks the migration held:\n{held or '  (none sampled)'}"))
        return found


def rehearse_live(tool: MigrationTool, spec: TargetSpec, db: Database, config: RehearsalConfig,
                  rows_per_table: int, overrides: Callable[[str], dict] | None = None) -> LiveRehearsal:
    """Runs the whole chain up and back down on ``db`` (empty) under load."""
    profile = config.profile
    report = LiveRehearsal(profile.name, profile.lock_budget_s)
    clock = time.perf_counter()
    revisions = tool.revisions()
    lock_timeout = max(10.0, 5 * profile.lock_budget_s)
    with Workload(db, seeding_binding(spec.binding, spec.tenancy.root_owner), profile.workers, profile.think_time_s, config.payload,
                  clock, lock_timeout, config.payload_unique_keys) as workload, \
            LockSampler(db, workload, profile.sample_interval_s, clock) as sampler, \
            db.connect_owner(autocommit=True, prepare_threshold=None) as conn:
        # the rehearsal's own reads and seeding never wait on someone else's lock for longer than
        # the workload does: a lock held outside the run (an operator, a stuck session) fails the
        # step with 55P03 instead of holding the run, and its SIGTERM, until the lock goes
        conn.execute("select set_config('lock_timeout', %s, false)", (f"{int(lock_timeout * 1000)}ms",))
        bulk: dict[str, BulkTable] = {}
        for rev in revisions:
            _step(report, workload, clock, profile.settle_s, rev.id, "upgrade",
                  lambda r=rev.id: tool.upgrade(db.owner, r), conn)
            workload.settle(profile.settle_s)
            started = time.perf_counter()
            workload.pause()
            _grow(conn, spec, workload, bulk, profile.tenants, rows_per_table, config.payload,
                  report, overrides, bookkeeping_tables(tool), config.payload_unique_keys)
            workload.resume()
            report.seed_seconds += time.perf_counter() - started
        doors = [i for i, r in enumerate(revisions) if not r.reversible]
        floor = doors[-1] + 1 if doors else 0
        report.not_rolled_back = [r.id for r in revisions[:floor]]
        for rev in reversed(revisions[floor:]):
            parent = rev.parents[0] if rev.parents else BASE
            _step(report, workload, clock, profile.settle_s, rev.id, "downgrade",
                  lambda p=parent: tool.downgrade(db.owner, p), conn)
            _shrink(conn, workload)
            workload.settle(profile.settle_s)
    report.operations, report.samples = list(workload.operations), list(sampler.samples)
    for step in report.steps:
        _judge(step, report.operations, report.samples, profile.sample_interval_s)
    return report


def _step(report: LiveRehearsal, workload: Workload, clock: float, settle: float, revision: str,
          direction: str, run: Callable[[], None], conn=None) -> None:
    # the step starts under load: every worker has just run an operation (settle_s at most)
    workload.settle(settle)
    watched = list(workload.targets.reads)
    before = _storage(conn, watched) if conn is not None else {}
    start = time.perf_counter() - clock
    error = ""
    try:
        run()
    except Exception as exc:
        error = f"{direction} failed under load: {type(exc).__name__}: {exc}"
    step = StepUnderLoad(revision, direction, start, time.perf_counter() - clock, error=error)
    if conn is not None:
        after = _storage(conn, watched)
        for table, files in before.items():
            if table in after and after[table] != files:
                step.rewritten[table] = conn.execute(
                    sql.SQL("select count(*) from {}").format(sql.SQL(table))).fetchone()[0]
    report.steps.append(step)


def _storage(conn, tables: list[str]) -> dict[str, tuple]:
    """Each table's relfilenode and its indexes' (a rewrite or a REINDEX gives new ones)."""
    if not tables:
        return {}
    rows = conn.execute("""
        select c.oid::regclass::text, c.relfilenode,
               array(select i.relfilenode from pg_index x join pg_class i on i.oid = x.indexrelid
                      where x.indrelid = c.oid order by i.oid)
          from pg_class c where c.oid = any(array(select to_regclass(t) from unnest(%s::text[]) t))""",
                        (tables,)).fetchall()
    return {name: (node, tuple(indexes)) for name, node, indexes in rows}


def _rewrite_findings(step: StepUnderLoad, budget_s: float) -> list[Finding]:
    """A step that rewrote a table holding volume while it held ACCESS EXCLUSIVE on it: its hold
    time grows with the table, whatever the sampled stall was at the rehearsal's volume."""
    found = []
    for table, rows in step.rewritten.items():
        held = max((s for k, s in step.locks.items()
                    if k.split(" ")[0] in (table, table.rsplit(".", 1)[-1])
                    and k.endswith("AccessExclusiveLock")), default=None)
        if not rows or held is None:
            continue
        found.append(Finding(
            step.revision, "lock-budget",
            f"{step.direction} of {step.revision} rewrote {table} ({rows} rows) under ACCESS "
            f"EXCLUSIVE, held {held:.2f} s at the rehearsal's volume (budget {budget_s:g} s): the "
            "hold grows with the table, and every tenant's reads and writes of it wait",
            "rewrite without the exclusive lock: add a new column and backfill in batches, build "
            "indexes CONCURRENTLY (REINDEX CONCURRENTLY), avoid CLUSTER / VACUUM FULL / ALTER "
            "TYPE on live tables (pg_repack where a rewrite is unavoidable)"))
    return found


def _grow(conn, spec: TargetSpec, workload: Workload, bulk: dict[str, BulkTable], tenants: int,
          rows: int, payload: dict, report: LiveRehearsal, overrides, ignore: tuple[str, ...],
          unique_keys: tuple[str, ...]) -> None:
    """After an upgrade: tenants once the root exists, volume in every new bulk table."""
    catalog = read_catalog(conn, spec)
    factory = RowFactory(conn, catalog, seeding_binding(spec.binding, spec.tenancy.root_owner),
                         overrides, root_owner=spec.tenancy.root_owner)
    targets = workload.targets
    factory.principals.update(workload.principals)
    if not targets.tenants and catalog.tenant_root is not None:
        targets.tenants = [factory.new_tenant() for _ in range(tenants)]
        workload.principals.update(factory.principals)
    new = [b for b in bulk_tables(catalog) if b.name not in bulk]
    for table in new:
        for tenant in targets.tenants:
            table.add_tenant(factory, tenant)
            table.fill(conn, factory.binding, factory.principal_of(tenant),
                       max(1, rows // len(targets.tenants)), payload, unique_keys)
        bulk[table.name] = table
        report.rows_seeded[table.name] = rows
    if new:
        conn.execute("analyze")
    readable = [t.qualified for t in catalog.tenant_tables if "SELECT" in t.app_privileges
                and t.name not in ignore]
    writable = [b for b in bulk.values() if "INSERT" in b.table.app_privileges]
    workload.targets = type(targets)(targets.tenants, readable, writable)


def _shrink(conn, workload: Workload) -> None:
    """After a downgrade: stop aiming at tables that are gone."""
    present = {r[0] for r in conn.execute(
        "select c.oid::regclass::text from pg_class c where c.relkind in ('r', 'p')").fetchall()}
    present |= {f"public.{p}" for p in present}
    t = workload.targets
    workload.targets = type(t)(t.tenants, [r for r in t.reads if r in present],
                               [b for b in t.writes if b.name in present])


def _judge(step: StepUnderLoad, ops: list[Operation], samples: list[LockSample],
           interval: float) -> None:
    during = [o for o in ops if o.started <= step.end and o.started + o.seconds >= step.start]
    latencies = sorted(o.seconds for o in during)
    step.operations = len(during)
    if latencies:
        step.longest_stall_s = latencies[-1]
        step.p99_s = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    seen: dict[str, list[float]] = {}
    for sample in samples:
        if step.start - interval <= sample.at <= step.end + interval:
            for relation, mode in sample.held:
                seen.setdefault(f"{relation} {mode}", []).append(sample.at)
            if sample.blocked and sample.blocker_statement and not step.waited_on:
                step.waited_on = " ".join(sample.blocker_statement.split())
    step.locks = {k: max(v) - min(v) + interval for k, v in seen.items()}
