"""The reference adapter's ``api`` capability (``harness.api.ApiTarget``): the HTTP API bound to
the adapter's database, and what the API suite needs around it (tenants with tokens, snapshots,
list query plans, a write that skips the API).

Tenants are created the product's way (``create_user`` and ``create_workspace`` of the membership
operations: the first owner is an active member), tokens are issued as the app role bound to the
workspace, and only their SHA-256 is stored. :func:`seed_load_tenants` is the entry point for a
load run that needs tenants, items and tokens on a database it was given.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from harness.tenancy import bound_workspace
from reference_impl.connections import AppConnections
from reference_impl.work_items import queries

if TYPE_CHECKING:
    from reference_impl.api.session import ApiDatabase

__all__ = ["WorkItemOperations", "seed_load_tenants"]

SNAPSHOT_TABLES = {
    "workspaces": "workspace_id", "memberships": "user_id", "work_items": "work_item_id",
    "work_item_activity": "activity_id", "api_tokens": "token_id",
}
PLAN_CASES = [(sort, status, paged) for sort in queries.SORTS for status in (None, "active")
              for paged in (False, True)]


class WorkItemOperations(AppConnections):
    """Mixed into ``ReferenceAdapter``: needs ``self.db`` and ``self.setting``."""

    db: Any
    setting: str
    # what the isolation suite's row factory cannot guess for the tables of revision 0006
    ROW_OVERRIDES: dict[str, dict[str, Any]] = {
        "api_tokens": {"token_sha256": lambda: secrets.token_hex(32)},
    }

    # -- the API itself ----------------------------------------------------------------------
    # the API package (FastAPI, pydantic) is imported where it is used, not with the adapter:
    # every pytest process loads the adapter, most never serve the API (about 0.5 s each)
    def api_database(self) -> ApiDatabase:
        """The app role on this database (via SET ROLE where its password is not ours)."""
        from reference_impl.api.session import ApiDatabase

        if self.db.app_via_set_role:
            return ApiDatabase(self.db.owner.conninfo(), role=self.db.spec.app_role,
                               tenant_setting=self.setting)
        return ApiDatabase(self.db.app.conninfo(), tenant_setting=self.setting)

    def asgi_app(self) -> Any:
        from reference_impl.api.app import create_app

        return create_app(self.api_database())

    def api_environment(self) -> dict[str, str]:
        """What a server process needs to serve :meth:`api_database` (pool sizes included, so a
        variant that overrides ``api_database`` gets the same database in and out of process)."""
        return self.api_database().environment()

    # -- tenants and tokens ------------------------------------------------------------------
    def create_api_tenant(self, label: str, items: int = 3) -> dict[str, Any]:
        """A workspace with an owner, ``items`` work items and a live token for the owner."""
        user = self.create_user(f"{label}-{uuid.uuid4().hex[:10]}@example.test")
        workspace = self.create_workspace(f"{label} workspace", user)
        token = self.issue_token(workspace, user, 3600.0)
        item_ids = self.seed_work_items(workspace, user, items)
        return {"workspace_id": workspace, "user_id": user, "token": token, "work_item_ids": item_ids}

    def issue_token(self, workspace_id: UUID, user_id: UUID, expires_in_seconds: float) -> str:
        """A new token for the user in the workspace; negative ``expires_in_seconds``: expired."""
        token = f"wit_{UUID(str(workspace_id)).hex}_{secrets.token_urlsafe(32)}"
        with self.in_workspace(workspace_id) as conn:
            conn.execute("insert into api_tokens (workspace_id, user_id, token_sha256, expires_at) "
                         "values (%s, %s, %s, now() + %s)",
                         (workspace_id, user_id, queries.token_sha256(token),
                          timedelta(seconds=expires_in_seconds)))
        return token

    def revoke_token(self, workspace_id: UUID, token: str) -> None:
        with self.in_workspace(workspace_id) as conn:
            done = conn.execute("update api_tokens set revoked_at = now() where workspace_id = %s "
                                "and token_sha256 = %s", (workspace_id, queries.token_sha256(token)))
            if done.rowcount != 1:
                raise LookupError(f"no token of workspace {workspace_id} to revoke")

    def seed_work_items(self, workspace_id: UUID, user_id: UUID, count: int) -> list[UUID]:
        """``count`` drafts, written in one statement as the app role (the trigger records them)."""
        with self._app() as conn, bound_workspace(
                conn, self.setting, workspace_id,
                {"app.actor_id": user_id, "app.correlation_id": f"seed-{uuid.uuid4().hex}"}):
            rows = conn.execute(
                "insert into work_items (workspace_id, title, priority, created_by) "
                "select %s, 'seeded item ' || n, n %% 5, %s from generate_series(1, %s) as n "
                "returning work_item_id", (workspace_id, user_id, count)).fetchall()
        return [r[0] for r in rows]

    # -- observing a tenant ------------------------------------------------------------------
    def tenant_snapshot(self, workspace_id: UUID) -> dict[str, list[dict[str, Any]]]:
        """Every row of the workspace in the API's tables, in a stable order."""
        snapshot = {}
        with self.in_workspace(workspace_id) as conn, \
                conn.cursor(row_factory=dict_row) as cur:
            for table, key in SNAPSHOT_TABLES.items():
                snapshot[table] = cur.execute(
                    psycopg.sql.SQL("select * from {} where workspace_id = %s order by {}").format(
                        psycopg.sql.Identifier(table), psycopg.sql.Identifier(key)),
                    (workspace_id,)).fetchall()
        return snapshot

    def list_query_plans(self, workspace_id: UUID) -> dict[str, Any]:
        """EXPLAIN (FORMAT JSON) of every shape of the list query, as the API runs it."""
        plans = {}
        with self.db.connect_owner(autocommit=True) as owner:
            owner.execute("analyze work_items")  # what autovacuum would have done by now
        with self.in_workspace(workspace_id) as conn:
            last = conn.execute("select priority, created_at, work_item_id from work_items "
                                "where workspace_id = %s order by created_at limit 1",
                                (workspace_id,)).fetchone()
            for sort, status, paged in PLAN_CASES:
                cursor = None
                if paged and last is not None:
                    lead = last[0] if queries.SORTS[sort][0] else None
                    cursor = queries.Cursor(sort, lead, last[1].isoformat(), str(last[2]))
                query, params = queries.page_json_sql(workspace_id, sort=sort, limit=51, status=status,
                                                      cursor=cursor)
                plan = conn.execute(psycopg.sql.SQL("explain (format json, costs true) ") + query,
                                    params).fetchone()[0]
                plans[f"sort={sort} status={status or 'any'} cursor={'yes' if cursor else 'no'}"] = plan
        return plans

    def force_status(self, workspace_id: UUID, work_item_id: UUID, status: str) -> str | None:
        """UPDATE the status directly as the app role, skipping the API; the SQLSTATE if refused."""
        try:
            with self.in_workspace(workspace_id) as conn:
                conn.execute("update work_items set status = %s where workspace_id = %s "
                             "and work_item_id = %s", (status, workspace_id, work_item_id))
        except psycopg.Error as err:
            return err.sqlstate or "unknown"
        return None

    @contextmanager
    def hold_work_item(self, workspace_id: UUID, work_item_id: UUID) -> Iterator[int]:
        """The item's row lock held (FOR UPDATE, as the app role bound to the workspace) while
        the context runs; yields the holding backend's pid."""
        with self.in_workspace(workspace_id) as conn:
            if conn.execute("select 1 from work_items where workspace_id = %s and work_item_id = %s "
                            "for update", (workspace_id, work_item_id)).fetchone() is None:
                raise LookupError(f"no work item {work_item_id} in workspace {workspace_id}")
            yield conn.info.backend_pid

    def work_item_row_overrides(self, table: str) -> dict[str, Any]:
        return dict(self.ROW_OVERRIDES.get(table, {}))


def seed_load_tenants(adapter: Any, tenants: int = 2, items: int = 500) -> list[dict[str, str]]:
    """Tenants for a load run: each a workspace with ``items`` items and a token (1 h).

    ``adapter`` is the target's adapter on the database the server uses (``ReferenceAdapter(db)``);
    the result is JSON-able: ``[{workspace_id, user_id, token}]``.
    """
    seeded = [adapter.create_api_tenant(f"load{i}", items=items) for i in range(tenants)]
    return [{"workspace_id": str(t["workspace_id"]), "user_id": str(t["user_id"]),
             "token": t["token"]} for t in seeded]
