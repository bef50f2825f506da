"""Analytics events against their taxonomy, once per key, in their workspace."""

from __future__ import annotations

import uuid

import pytest

from harness import data as harness_data
from harness.capabilities import require
from harness.evidence import attach_json
from harness.standards import require_clean
from harness.standards.analytics import (
    concurrent_duplicate_findings,
    integrity_findings,
    load_event_fixtures,
    taxonomy_findings,
)

EVENTS = harness_data.path("analytics/events.yaml")


def _two_workspaces(adapter):
    tag = uuid.uuid4().hex[:8]
    owner = adapter.create_user(f"analytics-{tag}@events.test")
    return (adapter.create_workspace(f"analytics-a-{tag}", owner),
            adapter.create_workspace(f"analytics-b-{tag}", owner))


@pytest.mark.evidence("S10.analytics-event-integrity", story="F7-E3-S1")
def test_events_match_the_taxonomy_and_are_stored_once_in_their_workspace(target_adapter, harness_target):
    """Valid events are stored once per key (a retry adds nothing) and still match the taxonomy;
    invalid ones are rejected and store nothing; another workspace sees none of them."""
    analytics = require(target_adapter, "analytics", harness_target)
    a, b = _two_workspaces(target_adapter)
    events = load_event_fixtures(EVENTS)
    require_clean([*taxonomy_findings(analytics),
                   *integrity_findings(analytics, a, b, events)], "analytics event integrity")


@pytest.mark.evidence("S10.analytics-event-integrity", story="F7-E3-S1")
def test_concurrent_sends_of_one_key_store_one_event(target_adapter, harness_target):
    """Eight connections released together send one idempotency key, five rounds: each key is
    stored exactly once and every sender gets the same event id."""
    analytics = require(target_adapter, "analytics", harness_target)
    a, _ = _two_workspaces(target_adapter)
    event = load_event_fixtures(EVENTS)["valid"][0]
    found, history = concurrent_duplicate_findings(analytics, a, event)
    attach_json(history, "concurrent sends")
    require_clean(found, "analytics once-per-key under concurrency")
