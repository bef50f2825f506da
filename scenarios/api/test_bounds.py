"""The create body's published bounds, tried at their edges (S04.domain-invariants)."""

from __future__ import annotations

import pytest

from harness.api.bounds import check_published_bounds


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S2")
def test_values_at_the_published_bounds_are_stored_and_one_past_is_refused(api_client, tenant_a):
    """For every bound the OpenAPI publishes on a work item's create body (a title of 1 and
    200 characters, a description of 4,000, a priority of 0 and 4), an item with the value at
    that edge is created and read back unchanged, and one step past an edge is a 422 (never a 5xx, never
    stored): a database limit tighter than the contract (a CHECK halved, ``<=`` made ``<``) is
    a valid row refused. Feeds S04.domain-invariants."""
    check_published_bounds(api_client, tenant_a)
