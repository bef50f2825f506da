"""``harness init`` on the vendored real schemas: the draft recovers what their hand-written specs
say, leaves only decisions as TODOs the gate refuses, and never replaces an edited spec."""

from __future__ import annotations

import re

import psycopg
import pytest

from harness import migrations
from harness.cli import main
from harness.errors import ConfigError
from harness.target import load_target
from tests.onboarding.conftest import REPO, TARGETS, embedded_server, project


def _answer_all(spec_path) -> None:
    spec_path.write_text(re.sub(r'"TODO[^"]*"', "answered by the test", spec_path.read_text()))


def _qualified(name: str | None) -> str | None:
    return name if name is None or "." in name else f"public.{name}"


def _same_tenancy(draft, hand) -> None:
    assert draft.tenancy.column == hand.tenancy.column
    assert _qualified(draft.tenancy.root) == _qualified(hand.tenancy.root)
    assert draft.tenancy.root_owner == hand.tenancy.root_owner
    assert set(draft.tenancy.global_tables) == set(hand.tenancy.global_tables)
    assert draft.binding == hand.binding
    assert draft.membership.roles == hand.membership.roles
    assert draft.membership.owner_role == hand.membership.owner_role
    assert draft.membership.manages == hand.membership.manages


def test_basejump_draft_recovers_the_hand_written_spec_and_refuses_to_run_on_todos(tmp_path, capsys):
    folder = project(tmp_path, "basejump")
    assert main(["init", "--migrations", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "tenant column  account_id -> basejump.accounts" in out
    spec_path = folder.parent / "target.yaml"
    with pytest.raises(ConfigError) as caught:
        load_target(spec_path)
    assert "TODO" in caught.value.problem
    _answer_all(spec_path)
    draft, hand = load_target(spec_path), load_target(TARGETS / "basejump" / "target.yaml")
    _same_tenancy(draft, hand)
    assert set(draft.tenancy.schemas) == set(hand.tenancy.schemas)
    # every SECURITY DEFINER function is listed; the hand-written list also names three
    # functions that are SECURITY INVOKER (current_user_account_role, update_account,
    # get_account_invitations): the catalog, not a reading of the files, decides
    assert set(draft.tenancy.security_definer_allowlist) <= set(hand.tenancy.security_definer_allowlist)
    assert len(draft.tenancy.security_definer_allowlist) == 9
    assert draft.migrations.version_locations  # the preset's platform stub, basejump has none


def test_a_project_keeping_its_own_auth_stub_gets_none_from_the_preset(tmp_path):
    folder = project(tmp_path, "supabase-style")
    assert main(["init", "--migrations", str(folder)]) == 0
    spec_path = folder.parent / "target.yaml"
    assert "platform: []" in spec_path.read_text()
    _answer_all(spec_path)
    draft = load_target(spec_path)
    _same_tenancy(draft, load_target(TARGETS / "supabase-style" / "target.yaml"))
    assert draft.migrations.version_locations == ()


def test_a_setting_bound_schema_gets_its_setting_and_role(tmp_path):
    folder = project(tmp_path, "org-bigint")
    assert main(["init", "--migrations", str(folder), "--out", str(tmp_path / "spec.yaml")]) == 0
    text = (tmp_path / "spec.yaml").read_text()
    assert "preset:" not in text
    _answer_all(tmp_path / "spec.yaml")
    draft, hand = load_target(tmp_path / "spec.yaml"), load_target(TARGETS / "org-bigint" / "target.yaml")
    assert (draft.tenancy.column, draft.binding) == (hand.tenancy.column, hand.binding)
    assert _qualified(draft.tenancy.root) == _qualified(hand.tenancy.root)


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_a_rerun_replaces_an_untouched_draft_but_never_an_edited_spec(tmp_path, capsys):
    folder = project(tmp_path, "org-bigint")
    spec_path = folder.parent / "target.yaml"
    assert main(["init", "--migrations", str(folder)]) == 0
    assert main(["init", "--migrations", str(folder)]) == 0      # untouched: replaced
    spec_path.write_text(spec_path.read_text().replace("app_user", "api_user"))
    capsys.readouterr()
    assert main(["init", "--migrations", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(spec_path) in err and "--force" in err
    assert "api_user" in spec_path.read_text()
    assert main(["init", "--migrations", str(folder), "--force"]) == 0
    assert "api_user" not in spec_path.read_text()


@pytest.mark.parametrize("argv, says", [
    (["init"], "--migrations: names no migrations folder"),
    (["init", "--migrations", "nowhere"], "--migrations: nowhere is not a folder of .sql files"),
    (["init", "--migrations", "m", "--dsn", "postgresql://u:secret@localhost/db"], "--dsn: is given"),
    (["init", "--migrations", "m", "--preset", "firebase"], "--preset: 'firebase' is not a preset"),
    (["init", "--dsn", "postgresql://u:secret@127.0.0.1:1/db"], "--dsn: cannot read u@127.0.0.1:1/db"),
])
def test_bad_arguments_are_one_line_naming_the_argument_and_the_fix(tmp_path, monkeypatch, capsys,
                                                                    argv, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "20240101000000_x.sql").write_text("create table t (id int);\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "(fix: " in err and "secret" not in err


def test_a_migration_that_fails_names_the_folder_and_the_sqlstate(tmp_path, capsys):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20240101000000_bad.sql").write_text("create table t (id int references nowhere);\n")
    assert main(["init", "--migrations", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{folder}: migrations: the migrations fail" in err
    assert "42P01" in err and not (tmp_path / "target.yaml").exists()


def test_dsn_reads_the_catalog_read_only_and_never_prints_the_dsn(tmp_path, capsys):
    folder = project(tmp_path, "org-bigint")
    assert main(["init", "--migrations", str(folder), "--out", str(tmp_path / "from-migrations.yaml")]) == 0
    spec = load_target(TARGETS / "org-bigint" / "target.yaml", backend="embedded")
    with embedded_server(TARGETS / "org-bigint" / "target.yaml") as state:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            admin.execute("create database users_db")
        params = state.admin.with_db("users_db")
        migrations.upgrade(spec, params)
        with psycopg.connect(params.conninfo()) as conn:
            before = conn.execute("select count(*) from pg_class").fetchone()[0]
        dsn = (f"postgresql://{params.user}:{params.password}@{params.host}:{params.port}/users_db")
        capsys.readouterr()
        assert main(["init", "--dsn", dsn, "--out", str(tmp_path / "from-dsn.yaml")]) == 0
        captured = capsys.readouterr()
        with psycopg.connect(params.conninfo()) as conn:
            assert conn.execute("select count(*) from pg_class").fetchone()[0] == before
    assert params.password not in captured.out + captured.err
    assert _body(tmp_path / "from-dsn.yaml") == _body(tmp_path / "from-migrations.yaml")


def _body(path) -> list[str]:
    """The draft's decisions, without what differs by source (comments, name, location)."""
    return [line for line in path.read_text().splitlines()
            if not line.startswith("#") and "location" not in line and "name:" not in line]


@pytest.mark.slow
def test_an_alembic_chain_drafts_the_reference_shape(tmp_path):
    out = tmp_path / "target.yaml"
    assert main(["init", "--migrations", str(REPO / "reference_impl" / "migrations"),
                 "--tool", "alembic", "--out", str(out)]) == 0
    _answer_all(out)
    draft, hand = load_target(out), load_target(REPO / "target.yaml")
    assert (draft.tenancy.column, draft.binding) == (hand.tenancy.column, hand.binding)
    assert draft.membership.roles == hand.membership.roles
    assert set(draft.tenancy.global_tables) == {"public.users"}   # bookkeeping is the harness's
    assert set(draft.standards.extensions) == set(hand.standards.extensions) == {"plpgsql", "vector"}
