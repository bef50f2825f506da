"""``GET /v1/work-items`` in one thread hand-off and one database round trip.

The published list operation (``routers.work_items.list_work_items``) runs through FastAPI's
dependencies: the bearer scheme, the session (a sync generator, entered and left in a worker
thread each), the route (a third hand-off) and five statements, one round trip each (BEGIN, the
tenant binding, the token lookup, the page, COMMIT). Measured with
``benchmarks/api_list_breakdown.py``, that path, not the database, was most of a list request.

:class:`ListPath`, an ASGI middleware in front of the router, answers only the requests whose
answer it knows is the route's own: a well-formed bearer token, no query parameter but
``status``, ``sort``, ``limit`` and ``cursor`` (each once, each a value the route accepts). It
sends the binding, the token lookup and the page as one pipeline (:func:`fetch_page`), from one
thread hand-off. Every other request (a missing, malformed, unknown or revoked token; a bad
parameter; a cursor of another sort; a HEAD; a database error) passes on to the published route
untouched, which answers as it always did: one code path owns every error. The app factory
installs it only with the reference's own routers and token check, so a variant that replaces
a route or the ``authenticate`` seam keeps every request on the published routes.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, get_args
from urllib.parse import parse_qsl
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from reference_impl.api import prepared_pipeline
from reference_impl.api.envelope import correlation_id_of, error_response
from reference_impl.api.schemas import Sort, Status
from reference_impl.api.session import PoolHolder
from reference_impl.work_items import queries

__all__ = ["ListPath", "fetch_page"]

BEARER = re.compile(r"(?i:bearer) +(wit_([0-9a-f]{32})_[A-Za-z0-9_-]{32,86})")
LIMIT = re.compile(r"[1-9][0-9]{0,2}")
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,400}")
STATUSES, SORTS = frozenset(get_args(Status)), frozenset(get_args(Sort))
BIND = "select set_config(%s, %s, true)"  # as harness.tenancy.bind sends it
BIND_TEXT = prepared_pipeline.numbered(BIND)[0]
LOOKUP_TEXT = prepared_pipeline.numbered(queries.AUTHENTICATE_SQL)[0]
SORT_NAMES = {sort: sort.replace("-", "desc_") for sort in SORTS}  # statement names: [a-z_]


class ListPath:
    """ASGI middleware: answers ``GET path`` itself when it can, else passes the request on."""

    def __init__(self, app: Any, pool: PoolHolder, path: str, max_page: int, default_limit: int) -> None:
        self.app, self.pool, self.path = app, pool, path
        self.max_page, self.default_limit = max_page, default_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        request = self._request(scope) if scope["type"] == "http" and scope["path"] == self.path else None
        if request is not None:
            try:
                pool = self.pool.get()
                body = await run_in_threadpool(fetch_page, pool, self.pool.database.tenant_setting,
                                               correlation_id_of(Request(scope)), *request)
            except PoolTimeout:
                await error_response(Request(scope), 503, "unavailable",
                                     "no database connection became free in time")(scope, receive, send)
                return
            except psycopg.Error:
                body = None  # the published route meets it too, and answers it as it always did
            if body is not None:
                await Response(body, media_type="application/json")(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _request(self, scope: dict) -> tuple[UUID, str, str, int, str | None, queries.Cursor | None] | None:
        """(workspace, token, sort, limit, status, cursor) when the published route would serve
        this request with a 200 given a live token; None sends it the long way."""
        if scope["method"] != "GET":
            return None
        authorizations = [v for k, v in scope["headers"] if k == b"authorization"]
        if len(authorizations) != 1:
            return None
        bearer = BEARER.fullmatch(authorizations[0].decode("latin-1"))
        if bearer is None:
            return None
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = dict(params)
        if len(given) != len(params) or not given.keys() <= {"status", "sort", "limit", "cursor"}:
            return None
        status, sort = given.get("status"), given.get("sort", "-created_at")
        limit = given.get("limit", str(self.default_limit))
        if (status is not None and status not in STATUSES) or sort not in SORTS \
                or LIMIT.fullmatch(limit) is None or int(limit) > self.max_page:
            return None
        cursor = None
        if "cursor" in given:
            if CURSOR.fullmatch(given["cursor"]) is None:
                return None
            try:
                cursor = queries.Cursor.decode(given["cursor"], sort)
            except ValueError:
                return None
        return UUID(bearer.group(2)), bearer.group(1), sort, int(limit), status, cursor


def fetch_page(pool: ConnectionPool, setting: str, correlation_id: str, workspace_id: UUID, token: str,
               sort: str, limit: int, status: str | None, cursor: queries.Cursor | None) -> bytes | None:
    """The page's response body, or None when the token is not live in its workspace.

    The binding, the token lookup and the page (one row: :func:`queries.page_json_sql`) go as
    one pipeline of prepared statements (:mod:`prepared_pipeline`), one round trip in one
    implicit transaction that ends at the pipeline's sync, so the binding (``set_config(...,
    true)``) ends with it. The page is read whatever the lookup finds (a pipeline cannot
    branch), and dropped unless the token is live."""
    page, params = queries.page_json_text(workspace_id, sort=sort, limit=limit + 1, status=status,
                                          cursor=cursor)
    page_text, page_takes = prepared_pipeline.numbered(page)
    workspace = str(workspace_id).encode()
    with pool.connection() as conn:
        _, lookup, listed = prepared_pipeline.run(conn, [
            (b"list_path_bind", BIND_TEXT, (setting.encode(), workspace)),
            (b"list_path_lookup", LOOKUP_TEXT,
             (correlation_id.encode(), workspace, queries.token_sha256(token).encode())),
            (_page_name(sort, status is not None, cursor is not None), page_text,
             [_text(params[key]) for key in page_takes])])
    if lookup.ntuples == 0:
        return None
    return queries.page_body(listed.get_value(0, 0), int(listed.get_value(0, 1)), sort, limit)


@cache
def _page_name(sort: str, filtered: bool, after: bool) -> bytes:
    return f"list_path_page_{SORT_NAMES[sort]}_{int(filtered)}{int(after)}".encode()


def _text(value: Any) -> bytes:
    return str(value).encode()
