"""The suite's own schemathesis checks, registered the schemathesis way (``@schemathesis.check``).

- :func:`no_cross_tenant_data`: acting as tenant A, no response carries an identifier that only
  tenant B has (B's workspace, user or work item ids), unless the request itself sent it.
- :func:`auth_required`: every operation that declares a security requirement answers 401 to the
  same request sent with no token, a malformed one, an expired one and a revoked one, and none
  of those requests changes anything A owns (snapshots around writes; the first few cases of
  each operation, since every case costs four more requests).

A check needs to know the tenants of the run: :func:`armed` installs a :class:`TenantFence` for
the duration of a test. Unarmed (another suite's schemathesis run in the same process), both
checks return ``None``: they have nothing to judge.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis

from harness.api.target import ApiFailure, ApiTenant, HttpClient

__all__ = ["TenantFence", "armed", "auth_required", "bad_credentials", "current_fence",
           "no_cross_tenant_data", "replay"]


@dataclass
class TenantFence:
    """What the checks know during one test: who acts, whose data must stay out of sight."""

    acting: ApiTenant
    foreign: ApiTenant
    client: HttpClient
    snapshot: Callable[[], Mapping[str, Any]]          # everything the acting tenant owns
    bad_tokens: dict[str, str | None] = field(default_factory=dict)   # label -> Authorization
    # the four replays of auth_required run on this many cases per operation (it is the slow one)
    auth_probes_per_operation: int = 4
    auth_probes: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_fence: list[TenantFence] = []


@contextmanager
def armed(fence: TenantFence) -> Iterator[TenantFence]:
    _fence.append(fence)
    try:
        yield fence
    finally:
        _fence.remove(fence)


def current_fence() -> TenantFence | None:
    return _fence[-1] if _fence else None


def bad_credentials(malformed: str, expired: str, revoked: str) -> dict[str, str | None]:
    """The four ways to be unauthenticated, as Authorization header values (None: no header)."""
    return {"no token": None, "malformed token": f"Bearer {malformed}",
            "expired token": f"Bearer {expired}", "revoked token": f"Bearer {revoked}"}


def replay(client: HttpClient, case: Any, authorization: str | None) -> Any:
    """``case``'s request again, with ``authorization`` as its only credential."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    kwargs: dict[str, Any] = {"headers": headers, "params": case.query or None}
    body = case.body
    if body is not None and not _is_unset(body):
        if case.media_type:
            headers.setdefault("Content-Type", case.media_type)
        if isinstance(body, bytes | bytearray | str):
            kwargs["content"] = body
        else:
            kwargs["content"] = json.dumps(body, default=str).encode()
    return client.request(case.method, case.formatted_path, **kwargs)


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def _request_text(case: Any) -> str:
    body = None if _is_unset(case.body) else case.body
    return json.dumps([case.formatted_path, case.query, body], default=str).lower()


@schemathesis.check
def no_cross_tenant_data(ctx: Any, response: Any, case: Any) -> bool | None:
    """No identifier of the foreign tenant in a response to the acting tenant."""
    fence = current_fence()
    if fence is None:
        return None
    body = (response.text or "").lower()
    sent = _request_text(case)
    leaked = sorted(v for v in fence.foreign.owned_values() if v.lower() in body and v.lower() not in sent)
    if leaked:
        raise ApiFailure(
            f"{case.method} {case.formatted_path} answered tenant A with tenant B's identifiers",
            [("leaked identifiers of B", "\n".join(leaked)),
             ("response", f"{response.status_code}\n{(response.text or '')[:2000]}")])
    return True


@schemathesis.check
def auth_required(ctx: Any, response: Any, case: Any) -> bool | None:
    """No token, a malformed, an expired or a revoked one: 401, and nothing changed."""
    fence = current_fence()
    if fence is None or not _secured(case):
        return None
    with fence.lock:
        label = f"{case.method} {case.operation.path}"
        if fence.auth_probes.get(label, 0) >= fence.auth_probes_per_operation:
            return None
        fence.auth_probes[label] = fence.auth_probes.get(label, 0) + 1
        writes = case.method.upper() not in ("GET", "HEAD", "OPTIONS")
        before = fence.snapshot() if writes else None
        answers = {label: replay(fence.client, case, auth) for label, auth in fence.bad_tokens.items()}
        after = fence.snapshot() if writes else None
    wrong = {label: r.status_code for label, r in answers.items() if r.status_code != 401}
    if wrong or before != after:
        raise ApiFailure(
            f"{case.method} {case.formatted_path} served a request without valid credentials",
            [("status per credential (expected 401)",
              "\n".join(f"{label}: {r.status_code} {r.text[:300]}" for label, r in answers.items())),
             ("tenant data changed", "yes" if before != after else "no")])
    return True


def _secured(case: Any) -> bool:
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None) or {}
    security = raw.get("security")
    if security is None:
        security = case.operation.schema.raw_schema.get("security", [])
    return bool(security)
