"""The ``sql`` migration tool: ordering, dbmate sections, Flyway undo files, one-way doors."""

from __future__ import annotations

import textwrap

import psycopg
import pytest

from harness.errors import ConfigError, HarnessError
from harness.migrations import tool_for
from harness.migrations.sql_folder import read_folder, split_statements
from harness.target import load_target

FILES = {
    "20240101000000_accounts.sql": """\
        -- accounts
        -- Rollback: drops accounts.
        -- migrate:up
        CREATE TABLE accounts (id int PRIMARY KEY);
        SELECT set_config('x.y', current_setting('harness.app_role'), false);
        -- migrate:down
        DROP TABLE accounts;
        """,
    "20240102000000_notes.sql": """\
        -- a one-way door: no down section
        -- migrate:up
        CREATE TABLE notes (id int PRIMARY KEY, body text);
        """,
    "20240103000000_tags.sql": """\
        -- migrate:up transaction:false
        CREATE TABLE tags (id int);
        CREATE INDEX CONCURRENTLY tags_id ON tags (id);
        -- migrate:down
        DROP TABLE tags;
        """,
}


def _target(tmp_path, files=FILES):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    (tmp_path / "target.yaml").write_text("name: t\nmigrations: {tool: sql, location: migrations}\n")
    return load_target(tmp_path / "target.yaml", backend="embedded")


def test_revisions_are_ordered_with_their_notes_and_doors(tmp_path):
    tool = tool_for(_target(tmp_path))
    revisions = tool.revisions()
    assert [(r.id, r.parents, r.reversible) for r in revisions] == [
        ("20240101000000", (), True), ("20240102000000", ("20240101000000",), False),
        ("20240103000000", ("20240102000000",), True)]
    assert "Rollback: drops accounts." in revisions[0].note
    assert tool.heads() == ("20240103000000",)
    assert tool.step_sql(revisions[0], "downgrade").strip() == "DROP TABLE accounts;"
    assert tool.step_sql(revisions[1], "downgrade") is None


def test_flyway_names_order_numerically_and_undo_files_are_downgrades(tmp_path):
    for name in ("V10__later.sql", "V2__first.sql", "V2_1__between.sql", "U2__first.sql"):
        (tmp_path / name).write_text(f"-- {name}\nselect 1;\n")
    files = read_folder((tmp_path,))
    assert [(m.version, m.down is not None) for m in files] == [("2", True), ("2.1", False), ("10", False)]


@pytest.mark.parametrize(("names", "says"), [
    (["init.sql"], "has no version"),
    (["V1__a.sql", "V1__b.sql"], "is also"),
])
def test_a_name_that_cannot_be_ordered_names_the_file(tmp_path, names, says):
    for name in names:
        (tmp_path / name).write_text("select 1;\n")
    with pytest.raises(ConfigError, match=says):
        read_folder((tmp_path,))


def test_a_spec_without_sql_files_names_the_field(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "target.yaml").write_text("name: t\nmigrations: {tool: sql, location: empty}\n")
    with pytest.raises(ConfigError) as err:
        load_target(tmp_path / "target.yaml", backend="embedded")
    assert err.value.field == "migrations.location"


@pytest.mark.slow
def test_upgrade_downgrade_and_a_one_way_door_on_a_real_database(tmp_path, harness_run):
    tool = tool_for(_target(tmp_path))
    db = harness_run.create_empty("sqlfolder")
    try:
        tool.upgrade(db.owner, "20240101000000")
        assert tool.current(db.owner) == ("20240101000000",)
        tool.upgrade(db.owner)
        assert tool.current(db.owner) == ("20240103000000",)
        tool.downgrade(db.owner, "20240102000000")   # tags has a down section
        with psycopg.connect(db.owner.conninfo()) as conn:
            assert conn.execute("select to_regclass('tags'), to_regclass('notes')").fetchone() == (
                None, "notes")
        with pytest.raises(HarnessError, match="one-way door"):
            tool.downgrade(db.owner, "base")         # notes has none
        assert tool.current(db.owner) == ("20240102000000",)
    finally:
        harness_run.drop(db)


def test_statements_split_outside_quotes_comments_and_dollar_bodies():
    text = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
            "-- a comment; with a semicolon\nSELECT 'a;b';\n/* c; */ SELECT \"x;y\" FROM t;\n")
    assert split_statements(text) == ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
                                      "-- a comment; with a semicolon\nSELECT 'a;b'",
                                      '/* c; */ SELECT "x;y" FROM t']
