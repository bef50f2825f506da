"""Idempotency keys belong to one workspace (S10.entitlement-counter-accuracy)."""

from __future__ import annotations

import pytest

from harness.counters import CounterFailure, PlanTerms
from harness.evidence import attach_json
from scenarios.counters.conftest import feature_name


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S2")
def test_a_key_reused_in_another_workspace_is_a_new_request_there(counters, counter_workspace):
    """Workspace B sends a consume under the idempotency key workspace A already used: B's
    request is its own (granted against B's quota, not answered as a replay, counted in B), and
    its answer says nothing of A's usage or terms; A's counter does not move. A key unique
    across all tenants would refuse B, or answer B with A's outcome (a way to learn A's usage)."""
    other = counters.create_workspace("entitlement counters B", counters.create_user(
        f"{feature_name('owner-b')}@example.test"))
    feature, key = feature_name("tenant-key"), feature_name("shared-key")
    counters.grant_entitlement(counter_workspace, feature, PlanTerms(quota=5))
    counters.grant_entitlement(other, feature, PlanTerms(quota=3))
    first = counters.consume(counter_workspace, feature, 2, key)
    try:
        seen = counters.consume(other, feature, 1, key)
    except Exception as exc:  # refused outright: the key is treated as global
        seen = f"{type(exc).__name__}: {exc}"
    a_periods = [p.used for p in counters.usage_periods(counter_workspace, feature)]
    b_periods = [p.used for p in counters.usage_periods(other, feature)]
    b_keys = [r.idempotency_key for r in counters.consumption_records(other, feature)]
    evidence = {"A first consume": first, "B same key": seen, "A counters": a_periods,
                "B counters": b_periods, "B records' keys": b_keys}
    attach_json(evidence, "one key, two workspaces")
    problems = []
    if isinstance(seen, str):
        problems.append(f"B's consume failed: {seen}")
    else:
        if not seen.granted or seen.replayed:
            problems.append(f"B's consume was {'replayed' if seen.replayed else 'denied'}: the key "
                            "was matched against another workspace's request")
        if (seen.used, seen.quota) != (1, 3):
            problems.append(f"B saw used={seen.used} quota={seen.quota}, not its own 1 of 3")
    if a_periods != [2] or b_periods != [1] or b_keys != [key]:
        problems.append(f"counters A {a_periods} (want [2]), B {b_periods} (want [1]), "
                        f"B's records {b_keys}")
    if problems:
        raise CounterFailure("an idempotency key crossed workspaces: " + problems[0],
                             [("problems", "\n".join(problems)), ("evidence", repr(evidence))])
