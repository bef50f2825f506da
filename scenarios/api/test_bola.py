"""BOLA / IDOR negatives through the API, generated from the published OpenAPI.

Every operation that takes a resource id is probed with tenant A's token and tenant B's ids: the
answer must be 404 (not 403: no existence leak) and B's rows must be exactly as before. The same
probes with A's own ids must reach the resource, so the negatives are not vacuous.
"""

from __future__ import annotations

import pytest

from harness.api import ApiFailure
from harness.api.bola import bola_probes, run_probes
from harness.evidence import attach_json, attach_text


@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S3")
def test_another_tenants_ids_are_not_found_and_stay_unchanged(api_target, api_client, tenant_a, tenant_b):
    """With A's token and B's ids, every id-taking operation answers 404 and changes nothing of
    B; with A's own ids it does not answer 404 or 422. Feeds S02.unauthorized-access-negatives."""
    openapi = api_client.get("/openapi.json").json()
    probes, uncovered = bola_probes(openapi, set(tenant_b.path_ids()))
    before = api_target.tenant_snapshot(tenant_b.workspace_id)
    outcomes = run_probes(api_client, probes, tenant_a.auth(), tenant_b.path_ids(), tenant_a.path_ids())
    after = api_target.tenant_snapshot(tenant_b.workspace_id)
    attach_text("\n".join(o.line() for o in outcomes), "BOLA probes")
    attach_json([u.__dict__ for u in uncovered], "operations not probed")
    failed = [o.line() for o in outcomes if not o.passed]
    changed = sorted(t for t in before if before[t] != after[t])
    if failed or uncovered or changed or not probes:
        raise ApiFailure(
            "tenant A reached tenant B's resources by id, or an operation could not be probed",
            [("failed probes", "\n".join(failed) or "none"),
             ("B's tables changed", ", ".join(changed) or "none"),
             ("operations not probed", "\n".join(f"{u.operation}: {u.reason}" for u in uncovered) or "none")])
