"""KNOWN-BAD variants of the reference API (adapter level; the database is the reference one).

Each adapter serves the reference API with one mistake, through the app factory's seams
(``routers`` placed before the reference's, ``authenticate``); tests/test_bite.py
proves the API suite turns the right gate item NO-GO for each:

- :class:`UnboundLookupAdapter`: ``GET /v1/work-items/{id}`` loads the item on an owner
  connection with no tenant binding and no workspace filter (RLS does not apply to it).
- :class:`ForbiddenNotFoundAdapter`: another workspace's item is a 403, which confirms it exists.
- :class:`OffsetPaginationAdapter`: the list pages with OFFSET, so inserts shift rows between pages.
- :class:`RevokedTokenAdapter`: the token check forgets ``revoked_at``.
- :class:`DepartedMemberTokenAdapter`: the token check forgets the membership's status, so a
  removed or suspended member's live token still works.
- :class:`CheckThenTransitionAdapter`: a transition reads the version, compares it, then writes
  without the version in its WHERE: right one request at a time, several winners in a race.
- :class:`ShortCorrelationAdapter`: the correlation id bound for the timeline is cut to 32
  characters (sized for a hex trace id), so a UUID-length id is recorded as another id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Query
from psycopg import sql
from psycopg.rows import dict_row

from reference_impl.adapter import ReferenceAdapter
from reference_impl.api.app import create_app
from reference_impl.api.envelope import ApiError
from reference_impl.api.routers import ERRORS, load
from reference_impl.api.schemas import Sort, Status, Transition, WorkItem, WorkItemPage
from reference_impl.api.session import WorkspaceSession
from reference_impl.work_items import queries


def _owner_lookup(conninfo: str, item_id: UUID) -> dict[str, Any] | None:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(f"select {queries.ITEM_COLUMNS} from work_items where work_item_id = %s",
                            (item_id,)).fetchone()


def unbound_lookup_router(owner_conninfo: str) -> APIRouter:
    router = APIRouter(prefix="/v1/work-items", responses=ERRORS)

    @router.get("/{work_item_id}", response_model=WorkItem, include_in_schema=False)
    def get_work_item(work_item_id: UUID, s: WorkspaceSession) -> dict:
        row = _owner_lookup(owner_conninfo, work_item_id)  # BUG: no binding, no workspace filter
        if row is None:
            raise queries.NotFound(f"work item {work_item_id} not found")
        return row

    return router


def forbidden_router(owner_conninfo: str) -> APIRouter:
    router = APIRouter(prefix="/v1/work-items", responses=ERRORS)

    @router.get("/{work_item_id}", response_model=WorkItem, include_in_schema=False)
    def get_work_item(work_item_id: UUID, s: WorkspaceSession) -> dict:
        try:
            return queries.get_item(s.conn, s.workspace_id, work_item_id)
        except queries.NotFound:
            if _owner_lookup(owner_conninfo, work_item_id) is not None:  # BUG: existence leak
                raise ApiError(403, "forbidden", "this work item belongs to another workspace") from None
            raise

    return router


def offset_router() -> APIRouter:
    router = APIRouter(prefix="/v1/work-items", responses=ERRORS)

    @router.get("", response_model=WorkItemPage, include_in_schema=False)
    def list_work_items(s: WorkspaceSession, status: Status | None = None, sort: Sort = "-created_at",
                        limit: int = Query(50, ge=1, le=100),
                        cursor: str | None = Query(None, max_length=400)) -> dict:
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        query, params = queries.list_sql(s.workspace_id, sort=sort, limit=limit + 1, status=status)
        with s.conn.cursor(row_factory=dict_row) as cur:  # BUG: OFFSET shifts under inserts
            rows = cur.execute(query + sql.SQL(" offset {}").format(sql.Literal(offset)), params).fetchall()
        more = len(rows) > limit
        return {"items": rows[:limit], "next_cursor": str(offset + limit) if more else None}

    return router


def authenticate_ignoring_revocation(conn: psycopg.Connection, workspace_id: UUID, sha256: str,
                                     correlation_id: str) -> UUID | None:
    row = conn.execute(  # BUG: revoked_at is not looked at
        "select t.user_id, set_config('app.actor_id', t.user_id::text, true), "
        "       set_config('app.correlation_id', %s, true) "
        "from api_tokens t join memberships m "
        "  on m.workspace_id = t.workspace_id and m.user_id = t.user_id and m.status = 'active' "
        "where t.workspace_id = %s and t.token_sha256 = %s and t.expires_at > now()",
        (correlation_id, workspace_id, sha256)).fetchone()
    return row[0] if row else None


def check_then_transition_router() -> APIRouter:
    router = APIRouter(prefix="/v1/work-items", responses=ERRORS)

    @router.post("/{work_item_id}/transitions", response_model=WorkItem, include_in_schema=False)
    def transition_work_item(work_item_id: UUID, body: Transition, s: WorkspaceSession) -> dict:
        current = s.conn.execute("select version from work_items where workspace_id = %s "
                                 "and work_item_id = %s", (s.workspace_id, work_item_id)).fetchone()
        if current is None:
            raise queries.NotFound(f"work item {work_item_id} not found")
        if current[0] != body.version:
            raise queries.Conflict("stale_version", f"work item {work_item_id} is at version "
                                   f"{current[0]}, not {body.version}", current_version=current[0])
        try:  # BUG: checked above, so the write no longer names the version
            with s.conn.transaction(), s.conn.cursor(row_factory=dict_row) as cur:
                return cur.execute(sql.SQL("update work_items set status = %s where workspace_id = %s "
                                           "and work_item_id = %s returning {}").format(
                                               sql.SQL(queries.ITEM_COLUMNS)),
                                   (body.to, s.workspace_id, work_item_id)).fetchone()
        except psycopg.errors.CheckViolation as err:
            raise queries.Conflict("illegal_transition", err.diag.message_primary or "lifecycle") from None

    return router


def authenticate_ignoring_membership(conn: psycopg.Connection, workspace_id: UUID, sha256: str,
                                     correlation_id: str) -> UUID | None:
    row = conn.execute(  # BUG: the membership's status is not looked at
        "select t.user_id, set_config('app.actor_id', t.user_id::text, true), "
        "       set_config('app.correlation_id', %s, true) "
        "from api_tokens t join memberships m "
        "  on m.workspace_id = t.workspace_id and m.user_id = t.user_id "
        "where t.workspace_id = %s and t.token_sha256 = %s "
        "  and t.revoked_at is null and t.expires_at > now()",
        (correlation_id, workspace_id, sha256)).fetchone()
    return row[0] if row else None


def authenticate_cutting_correlation(conn: psycopg.Connection, workspace_id: UUID, sha256: str,
                                     correlation_id: str) -> UUID | None:
    # BUG: "a trace id is 32 hex digits": longer correlation ids are cut before they are recorded
    return queries.authenticate(conn, workspace_id, sha256, correlation_id[:32])


class UnboundLookupAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), routers=[unbound_lookup_router(self.db.owner.conninfo()), *load()])


class ForbiddenNotFoundAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), routers=[forbidden_router(self.db.owner.conninfo()), *load()])


class OffsetPaginationAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), routers=[offset_router(), *load()])


class RevokedTokenAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), authenticate=authenticate_ignoring_revocation)


class ShortCorrelationAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), authenticate=authenticate_cutting_correlation)


class DepartedMemberTokenAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), authenticate=authenticate_ignoring_membership)


class CheckThenTransitionAdapter(ReferenceAdapter):
    def asgi_app(self) -> Any:
        return create_app(self.api_database(), routers=[check_then_transition_router(), *load()])
