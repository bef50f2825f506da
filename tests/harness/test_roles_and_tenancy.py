"""The app role checks and transaction-local tenant binding, on a real database."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import sql

from harness.errors import UnsafeAppRole
from harness.roles import app_role_problems, ensure_role, require_safe_app_role
from harness.tenancy import bind_workspace, bound_workspace, current_workspace

pytestmark = pytest.mark.slow


def _make_role(owner_conn: psycopg.Connection, name: str, attrs: str) -> None:
    owner_conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
    owner_conn.execute(sql.SQL("create role {} login " + attrs).format(sql.Identifier(name)))


@pytest.mark.parametrize("winner_commits", ["before the create", "while the create waits"])
def test_a_role_created_by_another_session_at_the_same_moment_is_not_an_error(harness_run, winner_commits):
    """Two runs on one shared server both create the app role (the round-7 CI failure): the one
    that loses gets 42710 if the other had committed first, 23505 on pg_authid_rolname_index if
    its CREATE waited for the other's commit. Either way the role exists and the run goes on."""
    role = f"harness_race_{winner_commits.split()[0]}"
    conninfo = harness_run.server.admin.conninfo()
    with psycopg.connect(conninfo, autocommit=True) as cleanup:
        cleanup.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        try:
            with psycopg.connect(conninfo) as winner, psycopg.connect(conninfo, autocommit=True) as loser:
                winner.execute(sql.SQL("create role {}").format(sql.Identifier(role)))
                if winner_commits == "before the create":
                    winner.commit()
                    assert ensure_role(loser, role, "unused") is False
                    return
                # the loser's existence check does not see the uncommitted role; its CREATE blocks
                result: list[object] = []
                racer = threading.Thread(target=lambda: result.append(_outcome(loser, role)))
                racer.start()
                _wait_until_blocked(cleanup, loser.info.backend_pid)
                winner.commit()
                racer.join(timeout=10)
                assert result == [False]
        finally:
            cleanup.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def _outcome(conn: psycopg.Connection, role: str) -> object:
    try:
        return ensure_role(conn, role, "unused")
    except psycopg.Error as exc:
        return exc.sqlstate


def _wait_until_blocked(observer: psycopg.Connection, pid: int) -> None:
    for _ in range(3000):                    # up to 30 s on a busy machine
        row = observer.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"backend {pid} never waited on the other session's role")


def test_reference_app_role_is_safe(owner_conn, fresh_database):
    assert app_role_problems(owner_conn, fresh_database.spec.app_role) == []


@pytest.mark.parametrize(("attrs", "says"), [
    ("superuser", "is a SUPERUSER"),
    ("bypassrls", "has BYPASSRLS"),
])
def test_unsafe_app_role_is_refused(owner_conn, attrs, says):
    """A superuser or BYPASSRLS app role makes every RLS check vacuous: refuse, and say why."""
    role = f"harness_unsafe_{attrs}"
    _make_role(owner_conn, role, attrs)
    try:
        with pytest.raises(UnsafeAppRole) as err:
            require_safe_app_role(owner_conn, role)
        assert says in str(err.value)
        assert "refusing to run tenant scenarios" in str(err.value)
    finally:
        owner_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_app_role_owning_a_tenant_table_is_refused(owner_conn):
    role = "harness_unsafe_owner"
    _make_role(owner_conn, role, "")
    try:
        owner_conn.execute(sql.SQL("alter table memberships owner to {}").format(sql.Identifier(role)))
        problems = app_role_problems(owner_conn, role)
        assert any("owns public.memberships" in p for p in problems)
        owner_conn.execute("alter table memberships owner to current_user")
    finally:
        owner_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_membership_in_a_bypassing_role_is_refused(owner_conn):
    _make_role(owner_conn, "harness_bypass_group", "bypassrls")
    _make_role(owner_conn, "harness_member_of_bypass", "")
    try:
        owner_conn.execute("grant harness_bypass_group to harness_member_of_bypass")
        problems = app_role_problems(owner_conn, "harness_member_of_bypass")
        assert any("member of harness_bypass_group" in p for p in problems)
    finally:
        owner_conn.execute("drop role harness_member_of_bypass")
        owner_conn.execute("drop role harness_bypass_group")


def _seed_two_workspaces(owner_conn):
    a = owner_conn.execute("insert into workspaces (name) values ('A') returning workspace_id").fetchone()[0]
    b = owner_conn.execute("insert into workspaces (name) values ('B') returning workspace_id").fetchone()[0]
    return a, b


def test_binding_is_transaction_local(app_conn, owner_conn, harness_target):
    """A second transaction on the same connection sees no tenant and no rows."""
    a, _ = _seed_two_workspaces(owner_conn)
    setting = harness_target.tenant_setting
    with bound_workspace(app_conn, setting, a):
        assert current_workspace(app_conn, setting) == str(a)
        assert app_conn.execute("select count(*) from workspaces").fetchone()[0] == 1
    with app_conn.transaction():
        assert current_workspace(app_conn, setting) is None
        assert app_conn.execute("select count(*) from workspaces").fetchone()[0] == 0


def test_binding_rolled_back_with_its_transaction(app_conn, owner_conn, harness_target):
    a, _ = _seed_two_workspaces(owner_conn)
    setting = harness_target.tenant_setting
    with pytest.raises(ZeroDivisionError), bound_workspace(app_conn, setting, a):
        raise ZeroDivisionError
    with app_conn.transaction():
        assert current_workspace(app_conn, setting) is None


def test_binding_outside_a_transaction_is_refused(fresh_database, harness_target):
    with fresh_database.connect_app(autocommit=True) as conn, pytest.raises(RuntimeError, match="open transaction"):
        bind_workspace(conn, harness_target.tenant_setting, "00000000-0000-0000-0000-000000000000")
