"""One request, one transaction, bound to the token's workspace.

A bearer token reads ``wit_<workspace hex>_<secret>``: the workspace it names is bound first
(through ``harness.tenancy``, transaction-locally, so a pooled connection cannot carry it into
the next request), and only then is the token looked up, by its SHA-256, under row-level
security: a token forged for another workspace simply is not found there. The user it belongs to
becomes the transaction's actor (``app.actor_id``) next to the request's correlation id, which
the timeline trigger records with every write. The transaction commits when the route returns
and rolls back when it raises, before the response is sent.

The database is reached through :class:`ApiDatabase`: a DSN (``REFERENCE_API_DSN`` by default),
where the login is not the app role itself a role to ``SET ROLE`` to on every pooled connection,
and the pool's size (``REFERENCE_API_POOL_MIN_SIZE`` / ``REFERENCE_API_POOL_MAX_SIZE``). Neither
the DSN nor the role is ever logged.

The database path is synchronous psycopg in FastAPI's worker threads on purpose: an asyncio path
(``AsyncConnectionPool``, async session, routes and queries) was built and measured against this
one on the same database, sides interleaved, and lost on a loaded 2-core machine (half the list
throughput, the load suite's SLOs missed): one event-loop thread gets less CPU there than a
thread pool, and psycopg's asyncio waits cost more CPU per round trip than its C waits. The
figures and the command are in benchmarks/README.md ("The list endpoint"). The list endpoint's
well-formed requests take a shorter threaded path (``list_path.py``): one hand-off, one round trip.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Annotated
from uuid import UUID

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from harness.tenancy import bind_workspace
from reference_impl.api.envelope import ApiError, correlation_id_of
from reference_impl.work_items import queries
from reference_impl.work_items.queries import token_sha256

__all__ = ["ApiDatabase", "Authenticator", "PoolHolder", "Session", "TOKEN", "WorkspaceSession",
           "bearer", "bearer_token", "request_session", "token_sha256", "workspace_session"]

DSN_ENV, ROLE_ENV = "REFERENCE_API_DSN", "REFERENCE_API_ROLE"
POOL_MIN_ENV, POOL_MAX_ENV = "REFERENCE_API_POOL_MIN_SIZE", "REFERENCE_API_POOL_MAX_SIZE"
TOKEN = re.compile(r"^wit_([0-9a-f]{32})_([A-Za-z0-9_-]{32,86})$")
bearer = HTTPBearer(auto_error=False, description="an API token: wit_<workspace>_<secret>")
# (connection bound to the workspace, workspace, token sha256, correlation id) -> the user, or
# None; a live token's user and the correlation id are bound to the transaction on the way
Authenticator = Callable[[psycopg.Connection, UUID, str, str], UUID | None]


def _size(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise RuntimeError(f"reference API: {name} must be a whole number of connections >= 1, "
                           f"not {text[:20]!r}")
    return int(text)


@dataclass(frozen=True)
class ApiDatabase:
    """How the API reaches its database; ``role`` is SET on each pooled connection if given."""

    conninfo: str = field(repr=False)
    role: str | None = None
    tenant_setting: str = "app.workspace_id"
    min_size: int = 2
    max_size: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.min_size <= self.max_size:
            raise ValueError(f"pool sizes: need 1 <= min_size ({self.min_size}) <= max_size "
                             f"({self.max_size})")

    @classmethod
    def from_env(cls) -> ApiDatabase:
        dsn = os.environ.get(DSN_ENV)
        if not dsn:
            raise RuntimeError(f"reference API: {DSN_ENV} is not set; export it with the app "
                               "role's DSN (see reference_impl/api/README.md)")
        max_size = _size(POOL_MAX_ENV, cls.max_size)
        return cls(conninfo=dsn, role=os.environ.get(ROLE_ENV) or None,
                   min_size=_size(POOL_MIN_ENV, min(cls.min_size, max_size)), max_size=max_size)

    def environment(self) -> dict[str, str]:
        """What :meth:`from_env` reads back in a server process (the DSN included: never log it)."""
        env = {DSN_ENV: self.conninfo, POOL_MIN_ENV: str(self.min_size),
               POOL_MAX_ENV: str(self.max_size)}
        if self.role:
            env[ROLE_ENV] = self.role
        return env

    def open_pool(self) -> ConnectionPool:
        def configure(conn: psycopg.Connection) -> None:
            if self.role:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(self.role)))
                conn.commit()

        pool = ConnectionPool(self.conninfo, min_size=self.min_size, max_size=self.max_size,
                              configure=configure, open=False, timeout=5.0, name="reference-api")
        pool.open(wait=True, timeout=15.0)
        return pool


class PoolHolder:
    """The app's pool, opened on first use and closed by the lifespan or by :meth:`close`.

    In-process runs (an ASGI test client, schemathesis) may start the app's lifespan more than
    once, or never; the pool does not depend on it, and whoever owns the database closes the
    pool before dropping it.
    """

    def __init__(self, database: ApiDatabase | None, max_size: int | None = None) -> None:
        self._database, self._max_size = database, max_size
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def database(self) -> ApiDatabase:
        if self._database is None:
            self._database = ApiDatabase.from_env()
        if self._max_size is not None and self._database.max_size != self._max_size:
            self._database = replace(self._database, max_size=self._max_size,
                                     min_size=min(self._database.min_size, self._max_size))
        return self._database

    def get(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = self.database.open_pool()
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


@dataclass(frozen=True)
class Session:
    conn: psycopg.Connection
    workspace_id: UUID
    user_id: UUID
    correlation_id: str


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The request's token, well-formed, or a 401 before the request's parameters are even
    validated: an anonymous caller learns nothing about an operation's schema. (``async``: it
    does no I/O, so it runs on the event loop instead of costing a thread hand-off.)"""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required")
    if TOKEN.match(credentials.credentials) is None:
        raise _unauthorized("the bearer token is malformed")
    return credentials.credentials


@contextmanager
def workspace_session(request: Request, token: str) -> Iterator[Session]:
    """The request's transaction, bound to the token's workspace, actor and correlation id."""
    match = TOKEN.match(token)
    if match is None:
        raise _unauthorized("the bearer token is malformed")
    workspace_id = UUID(match.group(1))
    state = request.app.state
    correlation_id = correlation_id_of(request)
    try:
        with state.pool.get().connection() as conn, conn.transaction():
            bind_workspace(conn, state.pool.database.tenant_setting, workspace_id)
            user_id = state.authenticate(conn, workspace_id, token_sha256(token), correlation_id)
            if user_id is None:
                raise _unauthorized("the token is unknown, expired or revoked")
            yield Session(conn, workspace_id, user_id, correlation_id)
    except PoolTimeout:
        raise ApiError(503, "unavailable", "no database connection became free in time") from None
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except queries.Conflict as exc:
        raise ApiError(409, exc.code, exc.message, current_version=exc.current_version) from None


def request_session(request: Request, token: Annotated[str, Depends(bearer_token)]) -> Iterator[Session]:
    """The dependency form: authenticated (database included) before the request's parameters
    are validated, so a dead token learns nothing about the schema either; ``scope="function"``
    ends the transaction before the response is sent."""
    with workspace_session(request, token) as session:
        reject_unknown_query(request)
        yield session


def reject_unknown_query(request: Request) -> None:
    """A query parameter the operation does not publish is a 422, like an unknown body field."""
    if not request.query_params:
        return
    key = (getattr(request.scope.get("route"), "path_format", ""), request.method.lower())
    state = request.app.state
    published = getattr(state, "published_query", None)
    if published is None:
        published = state.published_query = {}
    allowed = published.get(key)
    if allowed is None:  # the published schema does not change once served: read it once
        operation = request.app.openapi()["paths"].get(key[0], {}).get(key[1], {})
        allowed = published[key] = frozenset(
            p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ApiError(422, "unknown_parameter", f"unknown query parameter(s): {', '.join(unknown)[:200]}")


# what a route declares to run in the request's bound transaction
WorkspaceSession = Annotated[Session, Depends(request_session, scope="function")]
