"""Contract fuzzing of the published OpenAPI (schemathesis, in-process over ASGI), as tenant A.

Every operation gets generated requests (valid and invalid) carrying A's token, judged by
schemathesis's standard checks (no server error, status codes, content types and bodies that
conform to the schema, invalid data rejected, valid data accepted) plus the suite's own,
registered with ``@schemathesis.check``: ``no_cross_tenant_data`` (no identifier of B in any
answer) and ``auth_required`` (the same request with no token, a malformed, an expired or a
revoked one is a 401 and changes nothing A owns).
"""

from __future__ import annotations

import pytest
import schemathesis

from harness.api import ApiFailure, ApiTenant
from harness.api.checks import TenantFence
from harness.api.fuzz import fuzz_operations
from harness.evidence import attach_text

# modest on purpose: the whole family must run in about a minute on two cores
MAX_EXAMPLES = 6


def _aim_at_own_resources(tenant: ApiTenant):
    """Half the generated ids become A's real ones, so operations also succeed rather than only
    404; a generated cursor is dropped (a cursor is only valid as the API issued it)."""
    own = tenant.path_ids()

    def prepare(case) -> None:
        for name, value in list((case.path_parameters or {}).items()):
            if name in own and str(value)[:1] in "02468ace":
                case.path_parameters[name] = own[name]
        if isinstance(case.query, dict):
            case.query.pop("cursor", None)
    return prepare


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S1")
def test_every_operation_conforms_and_keeps_tenants_apart(api_app, api_client, tenant_fence: TenantFence):
    """Standard schemathesis checks plus no_cross_tenant_data and auth_required on every
    operation of the published OpenAPI, acting as A with B seeded. Feeds
    S02.unauthorized-access-negatives."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    report = fuzz_operations(schema, tenant_fence.acting.auth(), max_examples=MAX_EXAMPLES,
                             prepare=_aim_at_own_resources(tenant_fence.acting))
    attach_text(report.summary(), "cases per operation")
    untested = [label for label, n in report.cases.items() if n == 0]
    if report.failures or untested or not report.cases:
        raise ApiFailure(f"{len(report.failures)} operation(s) failed the contract or tenant checks",
                         [*report.failures.items(), ("operations without a case", "\n".join(untested))])
