"""S09.billing-reconciliation: the subscription mirror converges and reconciles with the provider."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.evidence import attach_json
from harness.replay.mirror import drift, latest_states, require_no_drift, require_reconciled
from harness.replay.profiles import replay_settings

ITEM, STORY = "S09.billing-reconciliation", "F7-E1-S1"


@st.composite
def deliveries(draw, stream: list[dict]) -> list[dict]:
    """The stream shuffled, with some events delivered more than once."""
    extra = draw(st.lists(st.sampled_from(stream), max_size=len(stream)))
    return draw(st.permutations(stream + extra))


@pytest.mark.slow
@pytest.mark.evidence(ITEM, story=STORY)
def test_shuffled_and_duplicated_provider_events_converge_to_the_latest_state(
        billing, new_workspace, billing_stream):
    """Any permutation of the provider's stream, with duplicates, leaves the mirror equal to the
    provider's latest state of every subscription. A failure carries the shrunk arrival order."""
    tried = []

    @replay_settings()
    @given(order=deliveries(billing_stream))
    def converges(order: list[dict]) -> None:
        workspace = new_workspace()
        for event in order:
            billing.apply_subscription_event(workspace, event)
        tried.append(len(order))
        require_no_drift(billing.subscription_mirror(workspace), latest_states(billing_stream),
                         "shuffled provider events",
                         history=[e["provider_event_id"] for e in order])

    converges()
    attach_json({"examples": len(tried), "deliveries per example": tried}, "examples")


@pytest.mark.evidence(ITEM, story=STORY)
def test_missed_events_are_reported_as_drift_and_reconciliation_repairs_them(
        billing, workspace, billing_stream):
    """With a third of the events missed, the drift check names the stale subscriptions;
    reconciling from the provider's snapshot repairs them, and late events arriving afterwards
    change nothing."""
    provider = latest_states(billing_stream)
    received = [e for i, e in enumerate(billing_stream) if i % 3 != 2]
    for event in received:
        billing.apply_subscription_event(workspace, event)
    before = drift(billing.subscription_mirror(workspace), provider)
    repaired = billing.reconcile_subscriptions(workspace, provider)
    late = [e for i, e in enumerate(billing_stream) if i % 3 == 2]
    for event in late:
        billing.apply_subscription_event(workspace, event)
    mirror = billing.subscription_mirror(workspace)
    attach_json({"drift before": before, "repaired": repaired, "mirror after": mirror}, "reconciliation")
    require_reconciled(before, repaired, "missed events")
    require_no_drift(mirror, provider, "after reconciliation and late events",
                     history=[e["provider_event_id"] for e in received + late])
