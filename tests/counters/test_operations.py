"""The reference entitlement operations, one call at a time (the race suite is in scenarios/)."""

from __future__ import annotations

import pytest

from harness.counters.capability import PlanTerms


@pytest.fixture
def workspace(target_adapter):
    owner = target_adapter.create_user("owner@example.test")
    ws = target_adapter.create_workspace("counters", owner)
    target_adapter.grant_entitlement(ws, "api-calls", PlanTerms(quota=5, grace=2))
    return ws


def test_consume_grants_within_quota_then_grace_then_denies(target_adapter, workspace):
    outcomes = [target_adapter.consume(workspace, "api-calls", 1, f"k{i}") for i in range(8)]
    assert [o.granted for o in outcomes] == [True] * 7 + [False]
    assert [o.used for o in outcomes] == [1, 2, 3, 4, 5, 6, 7, 7]
    assert [o.in_grace for o in outcomes] == [False] * 5 + [True, True, False]
    assert outcomes[4].remaining == 0 and outcomes[0].remaining == 4


def test_a_retried_key_is_counted_once_with_its_first_outcome(target_adapter, workspace):
    first = target_adapter.consume(workspace, "api-calls", 3, "same")
    again = target_adapter.consume(workspace, "api-calls", 3, "same")
    assert (first.granted, first.used, first.replayed) == (True, 3, False)
    assert (again.granted, again.used, again.replayed) == (True, 3, True)
    assert [p.used for p in target_adapter.usage_periods(workspace, "api-calls")] == [3]


def test_rollover_and_plan_change(target_adapter, workspace):
    target_adapter.consume(workspace, "api-calls", 4, "a")
    with target_adapter.entitlement_session("serializable") as session:
        rolled = session.reset_period(workspace, "api-calls")
        assert rolled.closed_used == 4 and rolled.opened_period > rolled.closed_period
        change = session.change_plan(workspace, "api-calls", PlanTerms(quota=1, grace=0))
        assert (change.used, change.quota, change.period) == (0, 1, rolled.opened_period)
        assert session.consume(workspace, "api-calls", 2, "b").granted is False
        assert session.consume(workspace, "api-calls", 1, "c").granted is True
    periods = target_adapter.usage_periods(workspace, "api-calls")
    assert [(p.used, p.closed) for p in periods] == [(4, True), (1, False)]
    records = target_adapter.consumption_records(workspace, "api-calls")
    assert [(r.idempotency_key, r.granted) for r in records] == [("a", True), ("b", False), ("c", True)]


def test_the_entitlements_revision_rolls_back_and_forward(fresh_database):
    """Below 0005_entitlements (tables and functions gone) and back to head again."""
    from harness import migrations
    from reference_impl.schema_head import HEAD

    spec, params = fresh_database.spec, fresh_database.owner
    tables = "select count(*) from pg_tables where tablename in " \
             "('entitlements', 'usage_counters', 'consumption_records')"
    below = next(r.parents[0] for r in migrations.tool_for(spec).revisions() if r.id == "0005_entitlements")
    migrations.downgrade(spec, params, below)
    with fresh_database.connect_owner() as conn:
        assert conn.execute(tables).fetchone()[0] == 0
        assert conn.execute("select count(*) from pg_proc where proname = 'consume_entitlement'").fetchone()[0] == 0
    migrations.upgrade(spec, params)
    with fresh_database.connect_owner() as conn:
        assert conn.execute(tables).fetchone()[0] == 3
    assert migrations.current_heads(params, spec) == (HEAD,)
