"""The API's routers, one module per area, each exposing ``router`` (a FastAPI ``APIRouter``).

Adding an area (event ingest, entitlement consume, webhooks) is one new module here and its name
in :data:`DEFAULT_ROUTERS`; the app factory includes them in this order and nothing else changes.
Every authenticated route takes a ``session.WorkspaceSession`` (its bound transaction) and declares
:data:`ERRORS`, so the published OpenAPI lists every status the route can answer.
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from reference_impl.api.schemas import ErrorBody

DEFAULT_ROUTERS = ("health", "workspaces", "work_items")


def _error(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


# the statuses every authenticated operation may answer, with the one error body
ERRORS: dict[int | str, dict] = {
    400: _error("malformed request (e.g. a Content-Length that is not a number)"),
    401: _error("no token, a malformed one, or one unknown, expired or revoked"),
    404: _error("no such resource in the token's workspace (another workspace's id included)"),
    413: _error("request body larger than the limit"),
    422: _error("the request does not match the schema (unknown fields included)"),
    503: _error("no database connection became free in time"),
}
CONFLICT = {409: _error("stale version, or a transition the lifecycle does not allow")}


def load(names: tuple[str, ...] = DEFAULT_ROUTERS) -> list[APIRouter]:
    return [importlib.import_module(f"{__name__}.{name}").router for name in names]
