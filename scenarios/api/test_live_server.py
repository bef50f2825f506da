"""End to end over real HTTP: the spec's ASGI app under uvicorn on 127.0.0.1, started and stopped
by PID, reached with httpx. The in-process suite proves the logic; this proves the served app
(its startup, pool, middleware and headers) behaves the same on a socket."""

from __future__ import annotations

import httpx
import pytest

from harness.api import ApiFailure
from harness.api.server import live_server
from harness.blame import note_response


@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S1")
def test_a_live_server_refuses_other_tenants_and_dead_tokens(api_target, tenant_a, tenant_b,
                                                            harness_target):
    """On a uvicorn process: A reads its own item (200, with a correlation id header), gets 404
    for B's item and B's workspace, and 401 with no token and with a revoked token; B's rows are
    unchanged. Feeds S02.unauthorized-access-negatives."""
    revoked = api_target.issue_token(tenant_a.workspace_id, tenant_a.user_id, 3600.0)
    api_target.revoke_token(tenant_a.workspace_id, revoked)
    before = api_target.tenant_snapshot(tenant_b.workspace_id)
    own, foreign = tenant_a.work_item_ids[0], tenant_b.work_item_ids[0]
    with live_server(harness_target.api.asgi, api_target.api_environment(), harness_target.root,
                     where=str(harness_target.path)) as base_url, \
            httpx.Client(base_url=base_url, timeout=10.0,
                         event_hooks={"response": [note_response]}) as http:
        answers = {
            "own item": (http.get(f"/v1/work-items/{own}", headers=tenant_a.auth()), 200),
            "B's item": (http.get(f"/v1/work-items/{foreign}", headers=tenant_a.auth()), 404),
            "B's workspace": (http.get(f"/v1/workspaces/{tenant_b.workspace_id}", headers=tenant_a.auth()), 404),
            "edit B's item": (http.patch(f"/v1/work-items/{foreign}", headers=tenant_a.auth(),
                                         json={"version": 1, "title": "taken over"}), 404),
            "no token": (http.get(f"/v1/work-items/{own}"), 401),
            "revoked token": (http.get(f"/v1/work-items/{own}", headers={"Authorization": f"Bearer {revoked}"}), 401),
        }
    wrong = {k: r.status_code for k, (r, want) in answers.items() if r.status_code != want}
    traced = answers["own item"][0].headers.get("x-correlation-id")
    changed = before != api_target.tenant_snapshot(tenant_b.workspace_id)
    if wrong or not traced or changed:
        raise ApiFailure("the live server let a request through that it must refuse",
                         [("unexpected statuses", str(wrong)), ("correlation id header", str(traced)),
                          ("B changed", str(changed))])
