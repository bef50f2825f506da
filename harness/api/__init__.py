"""The API suite (capability ``api``): contract fuzzing with tenant-aware checks, BOLA/IDOR
probes generated from the OpenAPI, and the work items' domain invariants through HTTP.

- :mod:`~harness.api.target`: the :class:`ApiTarget` Protocol, :class:`ApiTenant`, :class:`ApiFailure`;
- :mod:`~harness.api.checks`: schemathesis checks ``no_cross_tenant_data`` and ``auth_required``;
- :mod:`~harness.api.bola`: BOLA/IDOR probes from the published OpenAPI;
- :mod:`~harness.api.invariants`: lifecycle, concurrency, timeline, pagination, trace fields;
- :mod:`~harness.api.plans`: sequential scans in EXPLAIN plans;
- :mod:`~harness.api.server`: the spec's ASGI app under uvicorn on loopback, stopped by PID.
"""

from harness.api.target import CAPABILITY, ApiFailure, ApiTarget, ApiTenant, HttpClient
from harness.families import Family, Variant

__all__ = ["FAMILY", "CAPABILITY", "ApiFailure", "ApiTarget", "ApiTenant", "HttpClient"]

# the contract fuzz (schemathesis: ~4 s of CPU a run) passes on the variants whose mistake only a
# probe made for it shows (another tenant's id, a departed member's token, a trace field), so
# their runs leave it out; it still runs on the clean reference and where it is the proof
_NO_FUZZ = "not every_operation_conforms"

# the family: the API through HTTP; a variant runs only the gate of the item it must break
FAMILY = Family(
    name="api", package="harness.api",
    items=("S02.unauthorized-access-negatives", "S02.mutation-trace-fields",
           "S04.domain-invariants", "S04.timeline-durability", "S04.concurrent-update-safety"),
    failure=ApiFailure,
    capabilities={CAPABILITY: ApiTarget},
    variant_prefix="api-",
    variants={
        "api-unbound-lookup": Variant(frozenset({"S02.unauthorized-access-negatives"}), gates=("S02",),
                                      select=_NO_FUZZ, tests={"another_tenants_ids": "failed"}),
        "api-forbidden-403": Variant(frozenset({"S02.unauthorized-access-negatives"}), gates=("S02",),
                                     select=_NO_FUZZ, tests={"another_tenants_ids": "failed"}),
        "api-offset-pagination": Variant(frozenset({"S04.domain-invariants"}), gates=("S04",)),
        "api-revoked-token-accepted": Variant(frozenset({"S02.unauthorized-access-negatives"}),
                                              gates=("S02",)),
        # a departed member's live token: removal and suspension both
        "api-departed-member-token": Variant(frozenset({"S02.unauthorized-access-negatives"}), gates=("S02",),
                                             select=_NO_FUZZ,
                                             tests={"removed_members_live_token": "failed",
                                                    "suspended_members_live_token": "failed"}),
        # PATCH races are right; a transition checks its version, then writes without it
        "api-transition-check-then-write": Variant(
            frozenset({"S04.concurrent-update-safety"}), gates=("S04",),
            tests={"concurrent_writers_of_one_version": "passed",
                   "concurrent_transitions_and_deletes": "failed"}),
        # title edits are recorded; other edits leave no timeline row
        "api-timeline-title-only": Variant(frozenset({"S04.timeline-durability"}), gates=("S04",)),
        # short correlation ids pass; a UUID-length one is recorded cut
        "api-short-correlation-id": Variant(frozenset({"S02.mutation-trace-fields"}), gates=("S02",),
                                            select=_NO_FUZZ),
        # short descriptions are stored; one of 2,001 to 4,000 characters, valid by the contract, is not
        "api-description-limit-halved": Variant(frozenset({"S04.domain-invariants"}), gates=("S04",),
                                                tests={"published_bounds": "failed"}),
    },
)
