"""A member's live token after the member is removed or suspended.

A token outlives the membership it was issued under unless the API checks the membership on
every request. :func:`check_departed_member_token` adds a member to the tenant's workspace
(capability ``memberships``), issues them a live token (capability ``api``), proves the token
works (the control), then removes or suspends the member and asks again: every read and write
must be refused (401, 403 or 404) and the workspace's rows stay unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from harness.api.target import ApiFailure, ApiTarget, ApiTenant, HttpClient

__all__ = ["REFUSED", "check_departed_member_token"]

REFUSED = (401, 403, 404)
ITEMS = "/v1/work-items"


def check_departed_member_token(client: HttpClient, tenant: ApiTenant, target: ApiTarget,
                                memberships: Any, depart: Callable[[uuid.UUID, uuid.UUID, uuid.UUID, str], None],
                                how: str) -> None:
    """``depart(workspace, actor, user, correlation_id)`` removes or suspends the member."""
    user = memberships.create_user(f"departing-{uuid.uuid4().hex[:10]}@example.test")
    memberships.add_member(tenant.workspace_id, tenant.user_id, user, "member", f"add-{uuid.uuid4().hex}")
    token = target.issue_token(tenant.workspace_id, user, 3600.0)
    headers = {"Authorization": f"Bearer {token}"}
    item = f"{ITEMS}/{tenant.work_item_ids[0]}"
    lines: list[str] = []

    def ask(method: str, url: str, **kw: Any) -> int:
        answer = client.request(method, url, headers=headers, **kw)
        lines.append(f"{method} {url} -> {answer.status_code} {answer.text[:160]}")
        return answer.status_code

    control = ask("GET", item)
    depart(tenant.workspace_id, tenant.user_id, user, f"{how}-{uuid.uuid4().hex}")
    before = target.tenant_snapshot(tenant.workspace_id)
    after_read, after_list = ask("GET", item), ask("GET", ITEMS)
    after_write = ask("POST", ITEMS, json={"title": f"written by a {how} member"})
    changed = target.tenant_snapshot(tenant.workspace_id) != before
    problems = []
    if control != 200:
        problems.append(f"the control failed: the member's live token read its item with {control}")
    problems += [f"{what} by the {how} member's token answered {status}, not one of {REFUSED}"
                 for what, status in (("a read", after_read), ("a list", after_list), ("a write", after_write))
                 if status not in REFUSED]
    if changed:
        problems.append(f"the workspace's rows changed after the {how} member's write")
    if problems:
        raise ApiFailure(f"a {how} member's live token is still honoured: {problems[0]}",
                         [("problems", "\n".join(problems)), ("requests", "\n".join(lines))])
