"""The supabase preset's platform stub: a first migration that creates only what is missing, and
whose down step removes only what it created."""

from __future__ import annotations

import psycopg
import pytest

from harness import migrations
from harness.target import load_target
from tests.onboarding.conftest import OWN_STUB, embedded_server, project

PLATFORM = ("select to_regnamespace('auth') is not null, to_regclass('auth.users') is not null, "
            "to_regprocedure('auth.uid()') is not null, to_regnamespace('extensions') is not null")


def _spec(folder, extra=""):
    path = folder.parent / "target.yaml"
    path.write_text(f"name: stub\npreset: supabase\nmigrations: {{location: {folder.name}{extra}}}\n")
    return load_target(path, backend="embedded")


NOTES = """-- notes, each its owner's (a tiny Supabase-style project)
-- migrate:up
create table public.notes (id uuid primary key, owner uuid not null references auth.users (id)
  default auth.uid());
-- migrate:down
drop table public.notes;
"""


@pytest.mark.parametrize("own_stub", [False, True], ids=["preset-stub-only", "project-keeps-its-own"])
def test_basejump_migrates_with_the_preset_whether_or_not_it_keeps_its_own_stub(tmp_path, own_stub):
    folder = project(tmp_path, "basejump", platform_stub=own_stub)
    spec = _spec(folder)
    with embedded_server(spec.path) as state:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            admin.execute("create database scratch")
        params = state.admin.with_db("scratch")
        migrations.upgrade(spec, params)
        with psycopg.connect(params.conninfo()) as conn:
            assert conn.execute(PLATFORM).fetchone() == (True, True, True, True)
            assert conn.execute("select to_regclass('basejump.accounts') is not null").fetchone()[0]
            ours = conn.execute("select obj_description('auth'::regnamespace, 'pg_namespace')").fetchone()[0]
        # the preset created the auth schema only where the project did not
        assert (ours == "gate-harness preset: supabase") is (not own_stub)


@pytest.mark.parametrize("own_stub", [False, True], ids=["preset-stub-only", "project-keeps-its-own"])
def test_rolling_back_to_base_leaves_no_trace_of_the_stub(tmp_path, own_stub):
    folder = tmp_path / "proj" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_notes.sql").write_text(NOTES)
    if own_stub:
        (folder / "00000000000000_supabase_platform_stub.sql").write_text(OWN_STUB.read_text())
    spec = _spec(folder)
    with embedded_server(spec.path) as state:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            admin.execute("create database scratch")
        params = state.admin.with_db("scratch")
        migrations.upgrade(spec, params)
        with psycopg.connect(params.conninfo()) as conn:
            assert conn.execute(PLATFORM).fetchone() == (True, True, True, True)
        migrations.downgrade(spec, params, migrations.BASE)
        with psycopg.connect(params.conninfo()) as conn:
            assert conn.execute(PLATFORM).fetchone() == (False, False, False, False)
            assert conn.execute("select to_regprocedure('public.gen_random_bytes(integer)')").fetchone() == (None,)


def test_on_a_database_that_has_the_platform_the_stub_changes_nothing_and_takes_nothing(tmp_path):
    folder = tmp_path / "proj" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_notes.sql").write_text(NOTES)
    spec = _spec(folder)
    with embedded_server(spec.path) as state:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            admin.execute("create database hosted")
        params = state.admin.with_db("hosted")
        with psycopg.connect(params.conninfo(), autocommit=True) as conn:  # the platform's own
            conn.execute("create schema auth; create table auth.users (id uuid primary key, "
                         "email text, instance_id uuid); create function auth.uid() returns uuid "
                         "language sql stable as $$ select null::uuid $$")
        migrations.upgrade(spec, params)
        migrations.downgrade(spec, params, migrations.BASE)
        with psycopg.connect(params.conninfo()) as conn:
            # the platform's objects survive the preset's down step, unchanged
            assert conn.execute(PLATFORM).fetchone()[:3] == (True, True, True)
            assert conn.execute("select count(*) from information_schema.columns where "
                                "table_schema = 'auth' and column_name = 'instance_id'").fetchone()[0] == 1
