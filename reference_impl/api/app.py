"""The ASGI app factory: routers, the request envelope, error handlers and the connection pool.

``create_app(database)`` builds an app bound to one database (``app.state.pool.close()``
releases its connections); with no ``database`` the pool is configured on first use from
``REFERENCE_API_DSN`` (and ``REFERENCE_API_ROLE``, ``REFERENCE_API_POOL_MIN_SIZE``,
``REFERENCE_API_POOL_MAX_SIZE``), which is how ``python -m reference_impl.api`` and ``uvicorn
reference_impl.api:app`` run. ``authenticate``
and ``routers`` are the seams a known-bad variant replaces (reference_impl/variants/api_adapters.py);
the reference passes neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from reference_impl.api.envelope import RequestEnvelope, install_error_handlers
from reference_impl.api.list_path import ListPath
from reference_impl.api.routers import load, work_items
from reference_impl.api.session import ApiDatabase, Authenticator, PoolHolder
from reference_impl.work_items import queries

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 64 * 1024


def create_app(database: ApiDatabase | None = None, *, authenticate: Authenticator | None = None,
               routers: Sequence[APIRouter] | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, pool_max_size: int | None = None) -> FastAPI:
    """The reference API; ``database=None`` reads it from the environment at startup.
    ``pool_max_size`` caps the connection pool whatever the database or environment says (a
    variant's seam: a starved pool is a load bug of its own)."""

    pool = PoolHolder(database, pool_max_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.get()  # a missing or wrong database fails the startup, not the first request
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="Reference work items API", version="1.0.0", lifespan=lifespan,
                  description="Workspaces, memberships, work items and their activity timeline. "
                              "Every request runs in one transaction bound to its token's workspace.")
    app.state.pool = pool
    app.state.authenticate = authenticate or queries.authenticate
    install_error_handlers(app)
    for router in routers if routers is not None else load():
        app.include_router(router)
    if routers is None and authenticate is None:
        # the reference's list route in one thread hand-off and one round trip (a variant that
        # replaces a route or the token check keeps every request on the published routes)
        app.add_middleware(ListPath, pool=pool, path=work_items.router.prefix,
                           max_page=work_items.MAX_PAGE, default_limit=work_items.DEFAULT_PAGE)
    app.add_middleware(RequestEnvelope, max_body_bytes=max_body_bytes)  # outermost: runs first
    return app
