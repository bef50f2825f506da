"""Entitlement boundaries, one consume at a time (S10.entitlement-counter-accuracy)."""

from __future__ import annotations

import pytest

from harness.counters import PlanTerms, check_boundary
from scenarios.counters.conftest import feature_name

# (terms, amounts): up to the quota, into grace, a straddling amount denied whole, then one that fits
WALKS = {
    "hard-limit": (PlanTerms(quota=5), [1, 2, 2, 1, 3, 1]),
    "grace": (PlanTerms(quota=5, grace=3), [2, 3, 2, 2, 1, 1, 4]),
    "zero-quota": (PlanTerms(quota=0), [1, 2]),
}


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S1")
@pytest.mark.parametrize("walk", list(WALKS))
def test_consumes_are_granted_exactly_up_to_the_limit(counters, counter_workspace, walk):
    """With quota Q (and grace G), consumes are granted while they fit whole in Q+G and denied
    after; an amount straddling the limit is denied whole (never partly counted); grants past Q
    are flagged as grace, and the remaining quota is reported exactly."""
    terms, amounts = WALKS[walk]
    feature = feature_name("boundary", walk)
    counters.grant_entitlement(counter_workspace, feature, terms)
    outcomes = [(amount, counters.consume(counter_workspace, feature, amount, f"{feature}-{n}"))
                for n, amount in enumerate(amounts)]
    check_boundary(outcomes, terms, f"boundary walk {walk} ({terms})")
    stored = [p.used for p in counters.usage_periods(counter_workspace, feature)]
    granted = sum(a for a, o in outcomes if o.granted)
    assert stored == [granted], f"stored counter {stored} != granted total {granted}"
