"""KNOWN-BAD API variants for the load suite (served by uvicorn through the variant's spec).

``slow_list_app``: the reference API whose list endpoint takes 1.6 s more per request (think of
an N+1 query or a lost index on the hot path). Expected: the ``GET /v1/work-items`` SLOs fail,
so S11.load-slo, S04.query-performance-baseline and S05.query-latency are NO-GO.

``tenfold_list_app``: the list endpoint ten times slower than the reference on the same machine
(each list request waits nine times its own handling time after it): the size of regression a
lost index or an N+1 query causes, which the ci ceilings (~3x the reference) must catch.

Mistakes of the data path itself, no delay added (each turns the probe's check NO-GO):

``n_plus_one_app``: the list selects the page's ids, then loads each item by its id, one
statement per row (S04.query-performance-baseline: statements per request grow with the page).

``fetch_all_paging_app``: the list selects every item of the workspace and cuts the page in
Python (S04: rows returned grow with the tenant; S05.query-latency: no LIMIT over the scan).

``two_connection_pool_app``: the reference with a connection pool of two (S11.load-slo: only two
simultaneous requests reach the database, the rest queue for a connection).

(The lost sort index is SQL, not an app: ``load-lost-sort-index/versions``.)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from uuid import UUID

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row

from reference_impl.api.app import create_app
from reference_impl.api.routers import load
from reference_impl.api.session import ApiDatabase, WorkspaceSession

DELAY_S = 1.6


def _slow_list(app: FastAPI) -> FastAPI:
    @app.middleware("http")
    async def slow_list(request: Request, call_next):
        if request.method == "GET" and request.url.path == "/v1/work-items":
            await asyncio.sleep(DELAY_S)
        return await call_next(request)

    return app


slow_list_app = _slow_list(create_app())


def _tenfold_list(app: FastAPI) -> FastAPI:
    @app.middleware("http")
    async def tenfold_list(request: Request, call_next):
        if request.method != "GET" or request.url.path != "/v1/work-items":
            return await call_next(request)
        started = time.perf_counter()
        response = await call_next(request)
        await asyncio.sleep(9 * (time.perf_counter() - started))
        return response

    return app


tenfold_list_app = _tenfold_list(create_app())


# -- mistakes on the list's data path: real statements, real rows, a real pool ---------------
# Each list below is a route registered before the reference's own (same path and parameters),
# so it answers GET /v1/work-items; every other route is the reference's. The page's cursor is
# the last item's id (hex): the next page starts after that item in the same order.

_ORDER = {"created_at": ("created_at", "work_item_id"), "-created_at": ("created_at", "work_item_id"),
          "priority": ("priority", "created_at", "work_item_id"),
          "-priority": ("priority", "created_at", "work_item_id")}
_COLUMNS = ("work_item_id, workspace_id, title, description, status, priority, version, "
            "created_by, created_at, updated_at")


def _order_by(sort: str) -> str:
    direction = " desc" if sort.startswith("-") else ""
    return ", ".join(k + direction for k in _ORDER[sort])


def _page(rows: list[dict], more: bool) -> JSONResponse:
    cursor = UUID(str(rows[-1]["work_item_id"])).hex if more and rows else None
    return JSONResponse(jsonable_encoder({"items": rows, "next_cursor": cursor}))


def _list_router(handler) -> APIRouter:
    router = APIRouter(prefix="/v1/work-items")

    @router.get("")
    def list_work_items(s: WorkspaceSession, status: str | None = None, sort: str = "-created_at",
                        limit: int = Query(50, ge=1, le=100),
                        cursor: str | None = Query(None, max_length=400, pattern=r"^[A-Za-z0-9_-]+$")
                        ) -> JSONResponse:
        if sort not in _ORDER:
            return JSONResponse({"error": {"code": "validation", "message": "unknown sort"}}, 422)
        try:
            after = UUID(cursor) if cursor else None
        except ValueError:
            return JSONResponse({"error": {"code": "invalid_cursor", "message": "not a cursor"}}, 422)
        return handler(s, status, sort, limit, after)

    return router


def _ids_then_each_item(s, status: str | None, sort: str, limit: int, after: UUID | None) -> JSONResponse:
    """N+1: the page's ids in one statement, then each item loaded by its id, one statement each
    (what an ORM's lazily loaded rows do)."""
    keys = ", ".join(_ORDER[sort])
    where = ["workspace_id = %(ws)s"] + (["status = %(status)s"] if status else [])
    if after is not None:
        where.append(f"({keys}) {'<' if sort.startswith('-') else '>'} (select {keys} from work_items "
                     "where workspace_id = %(ws)s and work_item_id = %(after)s)")
    ids = [r[0] for r in s.conn.execute(
        f"select work_item_id from work_items where {' and '.join(where)} "
        f"order by {_order_by(sort)} limit %(n)s",
        {"ws": s.workspace_id, "status": status, "after": after, "n": limit + 1}).fetchall()]
    rows = []
    with s.conn.cursor(row_factory=dict_row) as cur:
        for item_id in ids[:limit]:
            rows.append(cur.execute(f"select {_COLUMNS} from work_items "
                                    "where workspace_id = %s and work_item_id = %s",
                                    (s.workspace_id, item_id)).fetchone())
    return _page(rows, len(ids) > limit)


def _whole_tenant_then_slice(s, status: str | None, sort: str, limit: int, after: UUID | None) -> JSONResponse:
    """Fetch-all paging: every item of the workspace leaves the database, ordered, and the page
    is cut in the application after the cursor's item."""
    where = "workspace_id = %s" + (" and status = %s" if status else "")
    with s.conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"select {_COLUMNS} from work_items where {where} order by {_order_by(sort)}",
                           (s.workspace_id, status) if status else (s.workspace_id,)).fetchall()
    start = 0
    if after is not None:
        start = next((i + 1 for i, r in enumerate(rows) if r["work_item_id"] == after), len(rows))
    page = rows[start:start + limit]
    return _page(page, start + limit < len(rows))


n_plus_one_app = create_app(routers=[_list_router(_ids_then_each_item), *load()])
fetch_all_paging_app = create_app(routers=[_list_router(_whole_tenant_then_slice), *load()])


@dataclass(frozen=True)
class _TwoConnections(ApiDatabase):
    """The reference's database settings from the environment, with a pool of two connections:
    sized for a developer's laptop and never raised for the load."""

    def open_pool(self):
        return replace(ApiDatabase.from_env(), min_size=2, max_size=2).open_pool()


two_connection_pool_app = create_app(_TwoConnections(conninfo=""))
