"""The rehearsal needs nothing but the migration-tool Protocol: a folder of SQL files is walked,
round-tripped and rolled back like an Alembic chain, and a step without a down file is a one-way
door, rehearsed forward only and listed.

The tool here is a minimal SQL-folder implementation of the Protocol (``NNNN_name.up.sql`` and
an optional ``NNNN_name.down.sql``, applied to a real database), written in the test so the
rehearsal is proven against a second tool without depending on another issue's module.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from harness.migrations import BASE, HEAD, Revision
from harness.rehearsal import history_findings, no_trace, walk_chain

pytestmark = pytest.mark.slow


class SqlFolderTool:
    name = "sql-folder-test"
    bookkeeping_tables = ("schema_version",)

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def revisions(self) -> list[Revision]:
        found, parent = [], ()
        for up in sorted(self.folder.glob("*.up.sql")):
            rid = up.name.split("_", 1)[0]
            down = up.with_name(up.name.replace(".up.sql", ".down.sql"))
            note = up.read_text().split("\n\n", 1)[0]
            found.append(Revision(rid, parent, up, note, reversible=down.exists()))
            parent = (rid,)
        return found

    def heads(self) -> tuple[str, ...]:
        return (self.revisions()[-1].id,)

    def current(self, params) -> tuple[str, ...]:
        with psycopg.connect(params.conninfo()) as conn:
            conn.execute("create table if not exists schema_version (version text)")
            row = conn.execute("select version from schema_version").fetchone()
            return (row[0],) if row else ()

    def upgrade(self, params, target: str = HEAD) -> None:
        done = self.current(params)
        ids = [r.id for r in self.revisions()]
        start = ids.index(done[0]) + 1 if done else 0
        stop = len(ids) if target == HEAD else ids.index(target) + 1
        for rev in self.revisions()[start:stop]:
            self._apply(params, rev.path.read_text(), rev.id)

    def downgrade(self, params, target: str) -> None:
        revisions = self.revisions()
        ids = [r.id for r in revisions]
        current = ids.index(self.current(params)[0])
        stop = -1 if target == BASE else ids.index(target)
        for i in range(current, stop, -1):
            down = revisions[i].path.with_name(revisions[i].path.name.replace(".up.", ".down."))
            self._apply(params, down.read_text(), ids[i - 1] if i else None)

    def step_sql(self, revision: Revision, direction: str = "upgrade") -> str | None:
        path = revision.path if direction == "upgrade" else \
            revision.path.with_name(revision.path.name.replace(".up.", ".down."))
        return path.read_text() if path.exists() else None

    @staticmethod
    def _apply(params, text: str, version: str | None) -> None:
        with psycopg.connect(params.conninfo()) as conn:
            conn.execute(text)
            conn.execute("delete from schema_version")
            if version is not None:
                conn.execute("insert into schema_version values (%s)", (version,))


def _folder(tmp_path: Path) -> Path:
    files = {
        "0001_plans.up.sql": "-- plans\n-- Rollback: drops plans and its rows.\n\n"
                             "create table plans (plan_id text primary key, seats int not null);",
        "0001_plans.down.sql": "drop table plans;",
        "0002_plan_names.up.sql": "-- plan names, backfilled\n-- One-way: the backfill cannot be "
                                  "undone; recover by restoring the pre-release backup.\n\n"
                                  "alter table plans add column title text;",
        "0003_plan_index.up.sql": "-- index\n-- Rollback: drops the index.\n\n"
                                  "create index plans_seats_idx on plans (seats);",
        "0003_plan_index.down.sql": "drop index plans_seats_idx;",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_sql_folder_is_rehearsed_and_its_one_way_door_listed(harness_run, tmp_path):
    tool = SqlFolderTool(_folder(tmp_path))
    spec = replace(harness_run.spec, tenancy=replace(
        harness_run.spec.tenancy, global_tables={"plans": "the price list, no tenant"}))
    assert history_findings(tool) == []
    db = harness_run.create_empty("sqlfolder")
    try:
        tool.current(db.owner)  # creates the bookkeeping table, as a real tool would
        walk = walk_chain(tool, spec, db)
        assert walk.applied == ["0001", "0002", "0003"] and walk.one_way == ["0002"]
        assert (walk.forward, walk.round_trip, walk.data, walk.posture) == ([], [], [], [])
        assert [s.down_s is None for s in walk.steps] == [False, True, False]
        assert no_trace(tool, db, walk) == []
        assert tool.current(db.owner) == ("0002",)
    finally:
        harness_run.drop(db)


def test_a_forgotten_drop_in_a_sql_down_file_is_a_round_trip_finding(harness_run, tmp_path):
    folder = _folder(tmp_path)
    (folder / "0003_plan_index.down.sql").write_text("select 1;")
    tool = SqlFolderTool(folder)
    spec = replace(harness_run.spec, tenancy=replace(
        harness_run.spec.tenancy, global_tables={"plans": "the price list, no tenant"}))
    db = harness_run.create_empty("sqlfolder")
    try:
        tool.current(db.owner)
        walk = walk_chain(tool, spec, db)
        assert [f.revision for f in walk.round_trip][:1] == ["0003"]
        assert "plans_seats_idx" in walk.round_trip[0].detail
    finally:
        harness_run.drop(db)
