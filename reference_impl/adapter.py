"""The reference adapter: membership operations as the service layer runs them.

Authorisation lives here (service layer) and isolation in the database (RLS): every operation
runs as the app role in one transaction bound to the workspace, with the actor and correlation
id bound too so the audit trigger records them. Only seeding a new workspace's first owner
uses the owner role, because no one is a member yet to authorise it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import psycopg

from harness.adapter import AccessDenied, AuditRecord, InvariantViolated
from harness.lifecycle import Database
from harness.tenancy import bind_workspace
from reference_impl.ai.operations import AiOperations
from reference_impl.analytics.operations import AnalyticsOperations
from reference_impl.entitlements.operations import EntitlementOperations
from reference_impl.events.operations import EventsOperations
from reference_impl.work_items.operations import WorkItemOperations

# who may manage whom: an actor's role -> roles it may grant, change or remove
_MANAGES = {
    "owner": {"owner", "admin", "member", "viewer"},
    "admin": {"admin", "member", "viewer"},
    "member": set(),
    "viewer": set(),
}


class ReferenceAdapter(EntitlementOperations, AnalyticsOperations, WorkItemOperations, AiOperations,
                       EventsOperations):
    """Operations run on app-role connections kept and reused, one borrowed per operation
    (:class:`~reference_impl.connections.AppConnections`), each in its own transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.setting = db.spec.tenant_setting

    # -- seeding -----------------------------------------------------------------------------
    def create_user(self, email: str) -> UUID:
        # users is under RLS: a new identity is created acting as itself (migration 0005_identity_analytics)
        user_id = uuid4()
        with self._app() as conn, conn.transaction():
            conn.execute("select set_config('app.actor_id', %s, true)", (str(user_id),))
            return conn.execute("insert into users (user_id, email) values (%s, %s) returning user_id",
                                (user_id, email)).fetchone()[0]

    def create_workspace(self, name: str, owner: UUID) -> UUID:
        with self._app() as conn:
            with conn.transaction():
                workspace = conn.execute("select gen_random_uuid()").fetchone()[0]
                self._bind(conn, workspace, owner, f"create-workspace-{workspace}")
                conn.execute("insert into workspaces (workspace_id, name) values (%s, %s)", (workspace, name))
                conn.execute("insert into memberships (workspace_id, user_id, role, status) "
                             "values (%s, %s, 'owner', 'active')", (workspace, owner))
            return workspace

    # -- memberships -------------------------------------------------------------------------
    def add_member(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None:
        with self._as(workspace, actor, correlation_id) as conn:
            self._authorise(conn, workspace, actor, target_role=role)
            conn.execute("insert into memberships (workspace_id, user_id, role, status) "
                         "values (%s, %s, %s, 'active')", (workspace, user, role))

    def change_role(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None:
        with self._as(workspace, actor, correlation_id) as conn:
            current = self._role_of(conn, workspace, user)
            if actor != user or role != "owner":
                self._authorise(conn, workspace, actor, target_role=current)
                self._authorise(conn, workspace, actor, target_role=role)
            conn.execute("update memberships set role = %s, updated_at = now() "
                         "where workspace_id = %s and user_id = %s", (role, workspace, user))

    def set_status(self, workspace: UUID, actor: UUID, user: UUID, status: str, correlation_id: str) -> None:
        with self._as(workspace, actor, correlation_id) as conn:
            self._authorise(conn, workspace, actor, target_role=self._role_of(conn, workspace, user))
            conn.execute("update memberships set status = %s, updated_at = now() "
                         "where workspace_id = %s and user_id = %s", (status, workspace, user))

    def remove_member(self, workspace: UUID, actor: UUID, user: UUID, correlation_id: str) -> None:
        self.set_status(workspace, actor, user, "removed", correlation_id)

    def leave_workspace(self, workspace: UUID, user: UUID, correlation_id: str) -> None:
        with self._as(workspace, user, correlation_id) as conn:
            self._role_of(conn, workspace, user)
            conn.execute("update memberships set status = 'removed', updated_at = now() "
                         "where workspace_id = %s and user_id = %s", (workspace, user))

    def can_access(self, workspace: UUID, user: UUID) -> bool:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select 1 from memberships where workspace_id = %s and user_id = %s "
                               "and status = 'active'", (workspace, user)).fetchone()
            return row is not None

    def audit_trail(self, workspace: UUID, correlation_id: str) -> list[AuditRecord]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute(
                "select action, actor_user_id, subject_user_id, correlation_id, details from audit_log "
                "where workspace_id = %s and correlation_id = %s order by audit_id",
                (workspace, correlation_id)).fetchall()
        return [AuditRecord(*row) for row in rows]

    # -- seeding hints for the isolation suite (harness.adapter.RowOverrides) -----------------
    ROW_OVERRIDES = {"memberships": {"role": "member"}}

    def row_overrides(self, table: str) -> dict[str, object]:
        """Seeded memberships are plain members: the last-owner rule is the role matrix's job,
        and an owner row would make the matrix's own-row DELETE depend on it. Each area's
        operations class adds its own tables in its ``ROW_OVERRIDES``."""
        for cls in type(self).__mro__:
            values = vars(cls).get("ROW_OVERRIDES", {}).get(table)
            if values:
                return dict(values)
        return {}

    # -- internals ---------------------------------------------------------------------------
    def _bind(self, conn: psycopg.Connection, workspace: UUID, actor: UUID, correlation_id: str) -> None:
        bind_workspace(conn, self.setting, workspace,
                       {"app.actor_id": actor, "app.correlation_id": correlation_id})

    @contextmanager
    def _as(self, workspace: UUID, actor: UUID, correlation_id: str) -> Iterator[psycopg.Connection]:
        """One app-role transaction bound to the workspace, the actor and the correlation id."""
        with self._app() as conn:
            try:
                with conn.transaction():
                    self._bind(conn, workspace, actor, correlation_id)
                    yield conn
            except psycopg.errors.CheckViolation as err:
                raise InvariantViolated(str(err).splitlines()[0]) from err

    @staticmethod
    def _role_of(conn: psycopg.Connection, workspace: UUID, user: UUID) -> str:
        row = conn.execute("select role from memberships where workspace_id = %s and user_id = %s "
                           "and status = 'active'", (workspace, user)).fetchone()
        if row is None:
            raise AccessDenied(f"user {user} is not an active member of workspace {workspace}")
        return row[0]

    def _authorise(self, conn: psycopg.Connection, workspace: UUID, actor: UUID, target_role: str) -> None:
        role = self._role_of(conn, workspace, actor)
        if target_role not in _MANAGES[role]:
            raise AccessDenied(f"a {role} may not manage a {target_role} in workspace {workspace}")
