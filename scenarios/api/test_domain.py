"""Domain invariants of work items through the API (S04): lifecycle, concurrent updates,
timeline completeness and keyset pagination under concurrent inserts, with EXPLAIN evidence."""

from __future__ import annotations

import pytest

from harness.api import ApiFailure
from harness.api.invariants import (
    check_concurrent_transitions_and_deletes,
    check_concurrent_updates,
    check_lifecycle,
    check_pagination_under_inserts,
    check_timeline,
)
from harness.api.plans import sequential_scans
from harness.evidence import attach_json


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S2")
def test_the_lifecycle_is_enforced_by_the_database(api_client, api_target, tenant_a):
    """draft -> active -> done -> archived only: every other transition is a 409 that changes
    nothing, an archived item cannot be edited, only a draft can be deleted, and the database
    itself refuses archived -> draft written past the API. Feeds S04.domain-invariants."""
    check_lifecycle(api_client, tenant_a, api_target)


@pytest.mark.evidence("S04.concurrent-update-safety", story="F3-E2-S3")
def test_concurrent_writers_of_one_version_cannot_both_win(api_client, row_hold, tenant_a):
    """Eight writers PATCH the same item at the same version at once (held at its row lock until
    all have read it, then released together): exactly one gets 200, the
    rest 409, the item is one version later with the winner's title, and the timeline holds one
    update. Feeds S04.concurrent-update-safety."""
    check_concurrent_updates(api_client, tenant_a, writers=8, hold=row_hold)


@pytest.mark.evidence("S04.concurrent-update-safety", story="F3-E2-S3")
def test_concurrent_transitions_and_deletes_of_one_version_have_one_winner(api_client, row_hold, tenant_a):
    """Races beyond PATCH: eight transitions of one version to the same status, then eight
    deletes of one draft, each held at the item's row lock and released together. Exactly one of each wins, the rest are
    refused; the item moves one version and the timeline holds one row per winning change.
    Feeds S04.concurrent-update-safety."""
    check_concurrent_transitions_and_deletes(api_client, tenant_a, writers=8, hold=row_hold)


@pytest.mark.evidence("S04.timeline-durability", story="F3-E2-S2")
def test_every_mutation_leaves_exactly_one_timeline_row(api_client, tenant_a):
    """Create, every kind of edit (title, priority, description) and every transition to
    archived each leave one timeline row with the token's user and the request's correlation
    id; a refused write leaves none; a deleted draft keeps its history. Feeds
    S04.timeline-durability."""
    check_timeline(api_client, tenant_a)


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S3")
@pytest.mark.parametrize("sort", ["-created_at", "priority"])
def test_paging_while_rows_are_inserted_neither_skips_nor_repeats(api_client, api_target, tenant_a, sort):
    """Walking the list five at a time while another writer inserts three items after every page:
    every item present at the start comes exactly once. Feeds S04.domain-invariants."""
    api_target.seed_work_items(tenant_a.workspace_id, tenant_a.user_id, 27)
    check_pagination_under_inserts(
        api_client, tenant_a, sort=sort,
        insert=lambda n: api_target.seed_work_items(tenant_a.workspace_id, tenant_a.user_id, n))


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S1")
def test_list_queries_are_served_by_indexes(api_target, tenant_a, tenant_b):
    """With thousands of rows in other workspaces, no shape of the list query (each sort, with
    and without a status filter, first page and a later one) plans a sequential scan: no tenant's
    page reads another tenant's rows. Every plan is attached. Feeds S04.domain-invariants."""
    for tenant in (tenant_a, tenant_b):
        api_target.seed_work_items(tenant.workspace_id, tenant.user_id, 2000)
    plans = api_target.list_query_plans(tenant_a.workspace_id)
    attach_json(plans, "EXPLAIN of each list query")
    scanning = {name: sequential_scans(plan) for name, plan in plans.items() if sequential_scans(plan)}
    if scanning or not plans:
        raise ApiFailure("a list query scans a whole table instead of its workspace's index range",
                         [("sequential scans", "\n".join(f"{k}: {v}" for k, v in scanning.items()) or
                           "no plans were returned")])
