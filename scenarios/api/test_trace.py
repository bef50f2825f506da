"""Trace fields of mutations through the API (S02.mutation-trace-fields)."""

from __future__ import annotations

import pytest

from harness.api.invariants import check_trace_fields


@pytest.mark.evidence("S02.mutation-trace-fields", story="F1-E3-S1")
def test_a_write_is_recorded_with_the_requests_correlation_id(api_client, tenant_a):
    """A create carrying a ``traceparent`` is recorded with its trace id, one carrying
    ``X-Correlation-Id`` with that id (short, a UUID with its dashes, and the longest the contract
    accepts: each recorded whole), and one carrying neither with the id the response names;
    each with the token's user as actor. Feeds S02.mutation-trace-fields."""
    check_trace_fields(api_client, tenant_a)
