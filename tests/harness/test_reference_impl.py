"""The reference data layer's own invariants: the last owner, and the audit trail."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from harness.adapter import AccessDenied, InvariantViolated, TargetAdapter

pytestmark = pytest.mark.slow


@pytest.fixture
def team(target_adapter):
    owner = target_adapter.create_user("owner@example.com")
    admin = target_adapter.create_user("admin@example.com")
    member = target_adapter.create_user("member@example.com")
    ws = target_adapter.create_workspace("acme", owner)
    target_adapter.add_member(ws, owner, admin, "admin", "seed-admin")
    target_adapter.add_member(ws, owner, member, "member", "seed-member")
    return ws, owner, admin, member


def test_reference_adapter_satisfies_the_protocol(target_adapter):
    assert isinstance(target_adapter, TargetAdapter)


def test_last_owner_cannot_leave_or_be_demoted(target_adapter, team):
    ws, owner, admin, _ = team
    with pytest.raises(InvariantViolated, match="last active owner"):
        target_adapter.leave_workspace(ws, owner, "owner-leaves")
    with pytest.raises(InvariantViolated, match="last active owner"):
        target_adapter.change_role(ws, owner, owner, "admin", "owner-demotes-self")
    assert target_adapter.can_access(ws, owner)
    assert target_adapter.audit_trail(ws, "owner-leaves") == []  # rolled back with the change


def test_last_owner_invariant_holds_in_the_database_itself(fresh_database, team):
    """Even an app-role UPDATE that skips the service layer cannot remove the last owner."""
    ws, owner, _, _ = team
    with fresh_database.connect_app() as conn, pytest.raises(psycopg.errors.CheckViolation), \
            conn.transaction():
            conn.execute("select set_config('app.workspace_id', %s, true)", (str(ws),))
            conn.execute("delete from memberships where user_id = %s", (owner,))


def test_ownership_can_be_transferred(target_adapter, team):
    ws, owner, admin, _ = team
    target_adapter.change_role(ws, owner, admin, "owner", "promote")
    target_adapter.change_role(ws, admin, owner, "member", "demote-old-owner")
    assert target_adapter.can_access(ws, owner)


def test_every_membership_change_writes_an_audit_row(target_adapter, team):
    ws, owner, admin, member = team
    correlation = f"corr-{uuid.uuid4()}"
    target_adapter.change_role(ws, owner, member, "viewer", correlation)
    trail = target_adapter.audit_trail(ws, correlation)
    assert len(trail) == 1
    entry = trail[0]
    assert entry.action == "membership.update"
    assert entry.actor_user_id == owner
    assert entry.subject_user_id == member
    assert entry.details["old"]["role"] == "member" and entry.details["new"]["role"] == "viewer"
    removal = f"corr-{uuid.uuid4()}"
    target_adapter.remove_member(ws, admin, member, removal)
    assert [r.action for r in target_adapter.audit_trail(ws, removal)] == ["membership.update"]
    assert not target_adapter.can_access(ws, member)


def test_audit_log_is_append_only_for_the_app_role(fresh_database, team):
    ws, *_ = team
    for statement in ("update audit_log set action = 'x'", "delete from audit_log"):
        with fresh_database.connect_app() as conn, \
                pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("select set_config('app.workspace_id', %s, true)", (str(ws),))
                conn.execute(statement)


def test_member_cannot_manage_members(target_adapter, team):
    ws, owner, admin, member = team
    newcomer = target_adapter.create_user("new@example.com")
    with pytest.raises(AccessDenied):
        target_adapter.add_member(ws, member, newcomer, "viewer", "member-invites")


def test_deleting_a_workspace_takes_its_members_and_audit_trail(owner_conn, team):
    """Cascade: a deleted workspace leaves no memberships or audit rows behind, and no error."""
    ws, *_ = team
    owner_conn.execute("delete from workspaces where workspace_id = %s", (ws,))
    for table in ("memberships", "audit_log"):
        left = owner_conn.execute(f"select count(*) from {table} where workspace_id = %s", (ws,)).fetchone()[0]
        assert left == 0, table
