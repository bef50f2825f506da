"""The work items data path: the SQL the HTTP API runs inside one request's bound transaction.

Every function takes a connection whose transaction is already bound to the workspace (and the
actor and correlation id), and still names ``workspace_id`` in each statement: the predicate
lets the ``(workspace_id, ...)`` indexes serve the query, and row-level security stays the last
line if a statement ever forgets it. Lists use keyset pagination (a cursor holding the last
row's sort key), never OFFSET, so rows inserted while a client pages neither shift a page nor
repeat a row. The lifecycle is not checked here at all: the database's trigger refuses an
illegal transition, and :class:`Conflict` reports it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

__all__ = ["AUTHENTICATE_SQL", "Conflict", "Cursor", "ItemPage", "NotFound", "SORTS", "activity",
           "authenticate", "create_item", "delete_item", "get_item", "list_items", "list_page_json",
           "list_sql", "page_body", "page_json_sql", "page_json_text", "transition", "update_item"]

ITEM_COLUMNS = ("work_item_id, workspace_id, title, description, status, priority, version, "
                "created_by, created_at, updated_at")
# sort name -> (leading column or None, descending)
SORTS: dict[str, tuple[str | None, bool]] = {
    "created_at": (None, False), "-created_at": (None, True),
    "priority": ("priority", False), "-priority": ("priority", True),
}
EDITABLE = ("title", "description", "priority")


class NotFound(Exception):
    """No such row in the bound workspace (another workspace's row is indistinguishable)."""


class Conflict(Exception):
    """The write lost a race (stale version) or broke the lifecycle; ``code`` says which."""

    def __init__(self, code: str, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.current_version = code, message, current_version


@dataclass(frozen=True)
class Cursor:
    """The last row of a page, by the page's sort key: where the next page starts."""

    sort: str
    lead: Any
    created_at: str
    work_item_id: str

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.lead, self.created_at, self.work_item_id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor this sort issued."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            name, lead, created_at, item = raw
            UUID(str(item))
        except Exception as exc:
            raise ValueError("not a cursor issued by this endpoint") from exc
        if name != sort or not isinstance(created_at, str) or \
                (SORTS[sort][0] is not None and not isinstance(lead, int)):
            raise ValueError(f"the cursor belongs to another sort order than {sort!r}")
        return cls(name, lead, created_at, str(item))


@dataclass(frozen=True)
class ItemPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def token_sha256(token: str) -> str:
    """What ``api_tokens`` stores of a token: its SHA-256, hex (the secret itself never)."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(conn: psycopg.Connection, workspace_id: UUID, token_sha256: str,
                 correlation_id: str) -> UUID | None:
    """The user a live token (not expired, not revoked, owner still an active member) acts for;
    in the same statement, that user and ``correlation_id`` are bound to the transaction as the
    actor (``app.actor_id``) and the correlation id the timeline trigger records."""
    row = conn.execute(AUTHENTICATE_SQL, (correlation_id, workspace_id, token_sha256)).fetchone()
    return row[0] if row else None


# parameters: correlation id, workspace id, token sha256 (also sent by the API's list path)
AUTHENTICATE_SQL = (
    "select t.user_id, set_config('app.actor_id', t.user_id::text, true), "
    "       set_config('app.correlation_id', %s, true) "
    "from api_tokens t join memberships m "
    "  on m.workspace_id = t.workspace_id and m.user_id = t.user_id and m.status = 'active' "
    "where t.workspace_id = %s and t.token_sha256 = %s "
    "  and t.revoked_at is null and t.expires_at > now()")


def list_sql(workspace_id: UUID, *, sort: str, limit: int, status: str | None = None,
             cursor: Cursor | None = None) -> tuple[sql.Composed, dict[str, Any]]:
    """The list query and its parameters (also what EXPLAIN evidence is taken of)."""
    return _list_shape(sort, status is not None, cursor is not None), \
        _list_params(workspace_id, limit, status, cursor)


def _list_params(workspace_id: UUID, limit: int, status: str | None,
                 cursor: Cursor | None) -> dict[str, Any]:
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit}
    if status is not None:
        params["status"] = status
    if cursor is not None:
        params.update(lead=cursor.lead, after_at=cursor.created_at, after_id=cursor.work_item_id)
    return params


@cache
def _list_shape(sort: str, filtered: bool, after: bool) -> sql.Composed:
    """The list statement of one shape (sort order, status filter or not, cursor or not): the
    text depends on nothing else, so it is composed once per shape."""
    lead, descending = SORTS[sort]
    keys = [sql.Identifier(c) for c in ([lead] if lead else []) + ["created_at", "work_item_id"]]
    where = [sql.SQL("workspace_id = %(workspace_id)s")]
    if filtered:
        where.append(sql.SQL("status = %(status)s"))
    if after:
        values = ([sql.SQL("%(lead)s")] if lead else []) + \
            [sql.SQL("%(after_at)s::timestamptz"), sql.SQL("%(after_id)s::uuid")]
        where.append(sql.SQL("({}) {} ({})").format(
            sql.SQL(", ").join(keys), sql.SQL("<" if descending else ">"), sql.SQL(", ").join(values)))
    direction = sql.SQL(" desc" if descending else "")
    return sql.SQL("select {} from work_items where {} order by {} limit %(limit)s").format(
        sql.SQL(ITEM_COLUMNS), sql.SQL(" and ").join(where),
        sql.SQL(", ").join(k + direction for k in keys))


def list_items(conn: psycopg.Connection, workspace_id: UUID, *, sort: str, limit: int,
               status: str | None = None, cursor: Cursor | None = None) -> ItemPage:
    query, params = list_sql(workspace_id, sort=sort, limit=limit + 1, status=status, cursor=cursor)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last, lead = rows[-1], SORTS[sort][0]
        next_cursor = Cursor(sort, last[lead] if lead else None, last["created_at"].isoformat(),
                             str(last["work_item_id"])).encode()
    return ItemPage(rows, next_cursor)


def page_json_sql(workspace_id: UUID, *, sort: str, limit: int, status: str | None = None,
                  cursor: Cursor | None = None) -> tuple[sql.Composed, dict[str, Any]]:
    """:func:`list_sql`'s rows as one row: the API's list endpoint runs this statement (and its
    EXPLAIN evidence is taken of it). Its columns: the rows' JSON (PostgreSQL renders each row,
    in the list's order, comma-separated) and how many rows there are. Fetched with one more
    row than the page, the count says whether another page follows (:func:`page_body`)."""
    return _page_json_shape(sort, status is not None, cursor is not None), \
        _list_params(workspace_id, limit, status, cursor)


def page_json_text(workspace_id: UUID, *, sort: str, limit: int, status: str | None = None,
                   cursor: Cursor | None = None) -> tuple[str, dict[str, Any]]:
    """:func:`page_json_sql` with the statement already rendered to text (once per shape), so a
    request does not compose and quote it again before psycopg finds it prepared."""
    return _page_json_text(sort, status is not None, cursor is not None), \
        _list_params(workspace_id, limit, status, cursor)


@cache
def _page_json_shape(sort: str, filtered: bool, after: bool) -> sql.Composed:
    # the aggregate's ORDER BY is the list's own, so PostgreSQL (16 and later) reads the rows
    # presorted, as the index returned them, and sorts nothing
    lead, descending = SORTS[sort]
    keys = [sql.Identifier("page", c) for c in ([lead] if lead else []) + ["created_at", "work_item_id"]]
    direction = sql.SQL(" desc" if descending else "")
    return sql.SQL("select coalesce(string_agg(row_to_json(page)::text, ',' order by {}), ''), "
                   "count(*)::int from ({}) as page").format(
                       sql.SQL(", ").join(k + direction for k in keys), _list_shape(sort, filtered, after))


@cache
def _page_json_text(sort: str, filtered: bool, after: bool) -> str:
    return _page_json_shape(sort, filtered, after).as_string(None)


def list_page_json(conn: psycopg.Connection, workspace_id: UUID, *, sort: str, limit: int,
                   status: str | None = None, cursor: Cursor | None = None) -> bytes:
    """The same page as :func:`list_items`, as the response body: PostgreSQL renders each row's
    JSON, so the hot list path converts no value to Python and back (the rows are the ones
    :func:`list_sql` selects)."""
    rendered, params = page_json_text(workspace_id, sort=sort, limit=limit + 1, status=status,
                                      cursor=cursor)
    items, rows = conn.execute(rendered, params).fetchone()
    return page_body(items.encode(), rows, sort, limit)


# where an item of page_json_sql's text starts, after the first: row_to_json renders the columns
# in ITEM_COLUMNS' order, and a '"' inside a JSON string is always escaped, so this appears
# nowhere else
NEXT_ITEM = b',{"' + ITEM_COLUMNS.split(",")[0].encode() + b'":'


def page_body(items: bytes, rows: int, sort: str, limit: int) -> bytes:
    """The response body of :func:`page_json_sql`'s row, fetched with ``limit + 1``: the first
    ``limit`` items and, if one more row came, a cursor after the last of them (its sort key
    read back from its own JSON, so the cursor holds ``created_at`` as the item shows it)."""
    next_cursor = None
    if rows > limit:
        items = items[:items.rindex(NEXT_ITEM)]
        last = json.loads(items[items.rfind(NEXT_ITEM) + 1:])
        lead = SORTS[sort][0]
        next_cursor = Cursor(sort, last[lead] if lead else None, last["created_at"],
                             last["work_item_id"]).encode()
    return b'{"items":[' + items + b'],"next_cursor":' + json.dumps(next_cursor).encode() + b"}"


def get_item(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"select {ITEM_COLUMNS} from work_items "
                          "where workspace_id = %s and work_item_id = %s",
                          (workspace_id, item_id)).fetchone()
    if row is None:
        raise NotFound(f"work item {item_id} not found")
    return row


def create_item(conn: psycopg.Connection, workspace_id: UUID, user_id: UUID, title: str,
                description: str, priority: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"insert into work_items (workspace_id, title, description, priority, created_by) "
            f"values (%s, %s, %s, %s, %s) returning {ITEM_COLUMNS}",
            (workspace_id, title, description, priority, user_id)).fetchone()


def update_item(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID, version: int,
                changes: dict[str, Any]) -> dict[str, Any]:
    """Applies ``changes`` if the item is still at ``version`` (the trigger bumps it)."""
    fields = {k: v for k, v in changes.items() if k in EDITABLE} or {"title": sql.Identifier("title")}
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), v if isinstance(v, sql.Composable) else sql.Literal(v))
        for k, v in fields.items())
    return _versioned_write(conn, workspace_id, item_id, version, sql.SQL("update work_items set {} ").format(assignments))


def transition(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID, version: int,
               to_status: str) -> dict[str, Any]:
    return _versioned_write(conn, workspace_id, item_id, version,
                            sql.SQL("update work_items set status = {} ").format(sql.Literal(to_status)))


def delete_item(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID, version: int) -> None:
    _versioned_write(conn, workspace_id, item_id, version, sql.SQL("delete from work_items "))


def _versioned_write(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID, version: int,
                     head: sql.Composable) -> dict[str, Any]:
    query = head + sql.SQL("where workspace_id = %s and work_item_id = %s and version = %s "
                           f"returning {ITEM_COLUMNS}")
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query, (workspace_id, item_id, version)).fetchone()
    except psycopg.errors.CheckViolation as err:
        if err.diag.constraint_name != "work_items_lifecycle":
            raise
        raise Conflict("illegal_transition", err.diag.message_primary or "lifecycle violation") from None
    if row is not None:
        return row
    current = conn.execute("select version from work_items where workspace_id = %s and work_item_id = %s",
                           (workspace_id, item_id)).fetchone()
    if current is None:
        raise NotFound(f"work item {item_id} not found")
    raise Conflict("stale_version", f"work item {item_id} is at version {current[0]}, not {version}",
                   current_version=current[0])


def activity(conn: psycopg.Connection, workspace_id: UUID, item_id: UUID, limit: int,
             after: int = 0) -> list[dict[str, Any]]:
    """The item's timeline in order; NotFound when it has none (every item has its 'created')."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select activity_id, work_item_id, action, actor_user_id, correlation_id, from_status, "
            "to_status, version, changes, created_at from work_item_activity "
            "where workspace_id = %s and work_item_id = %s and activity_id > %s "
            "order by activity_id limit %s", (workspace_id, item_id, after, limit)).fetchall()
    if not rows and conn.execute(
            "select 1 from work_item_activity where workspace_id = %s and work_item_id = %s limit 1",
            (workspace_id, item_id)).fetchone() is None:
        raise NotFound(f"work item {item_id} not found")
    return rows
