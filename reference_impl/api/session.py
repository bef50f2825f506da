"""One request, one transaction, bound to the token's workspace.

A bearer token reads ``wit_<workspace hex>_<secret>``: the workspace it names is bound first
(through ``harness.tenancy``, transaction-locally, so a pooled connection cannot carry it into
the next request), and only then is the token looked up, by its SHA-256, under row-level
security: a token forged for another workspace simply is not found there. The user it belongs to
becomes the transaction's actor (``app.actor_id``) next to the request's correlation id, which
the timeline trigger records with every write. The transaction commits when the route returns
and rolls back when it raises, before the response is sent.

The database is reached through :class:`ApiDatabase`: a DSN (``REFERENCE_API_DSN`` by default)
and, where the login is not the app role itself, a role to ``SET ROLE`` to on every pooled
connection. Neither is ever logged.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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

__all__ = ["ApiDatabase", "Authenticator", "Session", "TOKEN", "bearer", "bearer_token", "token_sha256",
           "workspace_session"]

DSN_ENV, ROLE_ENV = "REFERENCE_API_DSN", "REFERENCE_API_ROLE"
TOKEN = re.compile(r"^wit_([0-9a-f]{32})_([A-Za-z0-9_-]{32,86})$")
bearer = HTTPBearer(auto_error=False, description="an API token: wit_<workspace>_<secret>")
# (connection bound to the workspace, workspace, token sha256) -> the user, or None
Authenticator = Callable[[psycopg.Connection, UUID, str], UUID | None]


@dataclass(frozen=True)
class ApiDatabase:
    """How the API reaches its database; ``role`` is SET on each pooled connection if given."""

    conninfo: str = field(repr=False)
    role: str | None = None
    tenant_setting: str = "app.workspace_id"
    min_size: int = 2
    max_size: int = 10

    @classmethod
    def from_env(cls) -> ApiDatabase:
        dsn = os.environ.get(DSN_ENV)
        if not dsn:
            raise RuntimeError(f"reference API: {DSN_ENV} is not set; export it with the app "
                               "role's DSN (see reference_impl/api/README.md)")
        return cls(conninfo=dsn, role=os.environ.get(ROLE_ENV) or None)

    def open_pool(self) -> ConnectionPool:
        def configure(conn: psycopg.Connection) -> None:
            if self.role:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(self.role)))
                conn.commit()

        pool = ConnectionPool(self.conninfo, min_size=self.min_size, max_size=self.max_size,
                              configure=configure, open=False, timeout=5.0, name="reference-api")
        pool.open(wait=True, timeout=15.0)
        return pool


@dataclass(frozen=True)
class Session:
    conn: psycopg.Connection
    workspace_id: UUID
    user_id: UUID
    correlation_id: str


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The request's token, well-formed, or a 401 before the request's parameters are even
    validated: an anonymous caller learns nothing about an operation's schema."""
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
        with state.pool.connection() as conn, conn.transaction():
            bind_workspace(conn, state.database.tenant_setting, workspace_id)
            user_id = state.authenticate(conn, workspace_id, token_sha256(token))
            if user_id is None:
                raise _unauthorized("the token is unknown, expired or revoked")
            conn.execute("select set_config('app.actor_id', %s, true), "
                         "set_config('app.correlation_id', %s, true)", (str(user_id), correlation_id))
            yield Session(conn, workspace_id, user_id, correlation_id)
    except PoolTimeout:
        raise ApiError(503, "unavailable", "no database connection became free in time") from None
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except queries.Conflict as exc:
        raise ApiError(409, exc.code, exc.message, current_version=exc.current_version) from None
