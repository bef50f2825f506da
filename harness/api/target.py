"""What the API suite needs from a target (capability ``api``), and how its failures read.

:class:`ApiTarget` is the Protocol: the HTTP API bound to the target's database (in-process, as
an ASGI app; or, for a live server, the environment that lets ``spec.api.asgi`` reach that
database), tenants with tokens, tokens expired or revoked on purpose, a snapshot of everything a
tenant owns (to prove a refused request changed nothing), the plans of the list queries, one
write that skips the API (to prove the lifecycle is the database's rule, not only the API's), and
an item's row lock held while racing writers line up behind it.

Every response the suite reads goes through :class:`HttpClient`: an ``httpx.Client`` against a
live server and Starlette's ``TestClient`` in-process both fit it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from harness.evidence import EvidenceFailure

__all__ = ["ApiFailure", "ApiTarget", "ApiTenant", "HttpClient", "HttpResponse"]

CAPABILITY = "api"


class ApiFailure(EvidenceFailure):
    """The API let something through that it must refuse, or broke a domain invariant."""


@dataclass(frozen=True)
class ApiTenant:
    """One seeded workspace as the API suite sees it: its owner, a live token, some items."""

    workspace_id: UUID
    user_id: UUID
    token: str = field(repr=False)
    work_item_ids: tuple[UUID, ...] = ()

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ApiTenant:
        return cls(UUID(str(raw["workspace_id"])), UUID(str(raw["user_id"])), str(raw["token"]),
                   tuple(UUID(str(i)) for i in raw.get("work_item_ids", ())))

    def path_ids(self) -> dict[str, str]:
        """This tenant's id for each path parameter name the API uses."""
        ids = {"workspace_id": str(self.workspace_id), "user_id": str(self.user_id)}
        if self.work_item_ids:
            ids["work_item_id"] = str(self.work_item_ids[0])
        return ids

    def owned_values(self) -> set[str]:
        """Identifiers only this tenant has: none may appear in another tenant's responses."""
        return {str(self.workspace_id), str(self.user_id), *map(str, self.work_item_ids)}

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class HttpResponse(Protocol):
    status_code: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any: ...


class HttpClient(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse: ...


@runtime_checkable
class ApiTarget(Protocol):
    def asgi_app(self) -> Any:
        """The API as an ASGI app bound to this database (``app.state.pool.close()`` frees it)."""

    def api_environment(self) -> dict[str, str]:
        """Environment variables that let ``spec.api.asgi`` in a server process reach this database."""

    def create_api_tenant(self, label: str, items: int = 3) -> Mapping[str, Any]:
        """A new workspace with an owner, ``items`` work items and a live token for the owner
        (keys: workspace_id, user_id, token, work_item_ids)."""

    def issue_token(self, workspace_id: UUID, user_id: UUID, expires_in_seconds: float) -> str:
        """A token for the user in the workspace; a negative lifetime gives an expired one."""

    def revoke_token(self, workspace_id: UUID, token: str) -> None: ...

    def seed_work_items(self, workspace_id: UUID, user_id: UUID, count: int) -> list[UUID]: ...

    def tenant_snapshot(self, workspace_id: UUID) -> Mapping[str, Any]:
        """Every row the workspace owns in the API's tables, in a stable order."""

    def list_query_plans(self, workspace_id: UUID) -> Mapping[str, Any]:
        """EXPLAIN (FORMAT JSON) of every shape of the list query, keyed by a readable name."""

    def force_status(self, workspace_id: UUID, work_item_id: UUID, status: str) -> str | None:
        """Writes a status without the API; the SQLSTATE when the database refuses, else None."""

    def hold_work_item(self, workspace_id: UUID, work_item_id: UUID) -> AbstractContextManager[int]:
        """Holds the item's row lock (``SELECT ... FOR UPDATE`` on a connection of its own) while
        the context runs, and gives that connection's backend pid: the race checks send their
        writers meanwhile, count them queued behind it, and release them together."""
