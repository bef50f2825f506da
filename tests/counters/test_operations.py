"""The reference entitlement operations, one call at a time (the race suite is in scenarios/)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from harness.counters.capability import PlanTerms
from harness.tenancy import bind_workspace


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
    """Below 0004_entitlements (tables and functions gone) and back to head again."""
    from harness import migrations
    from reference_impl.schema_head import HEAD

    spec, params = fresh_database.spec, fresh_database.owner
    tables = "select count(*) from pg_tables where tablename in " \
             "('entitlements', 'usage_counters', 'consumption_records')"
    below = next(r.parents[0] for r in migrations.tool_for(spec).revisions() if r.id == "0004_entitlements")
    migrations.downgrade(spec, params, below)
    with fresh_database.connect_owner() as conn:
        assert conn.execute(tables).fetchone()[0] == 0
        assert conn.execute("select count(*) from pg_proc where proname = 'consume_entitlement'").fetchone()[0] == 0
    migrations.upgrade(spec, params)
    with fresh_database.connect_owner() as conn:
        assert conn.execute(tables).fetchone()[0] == 3
    assert migrations.current_heads(params, spec) == (HEAD,)


def test_a_rollover_waits_for_a_consume_without_deadlocking(target_adapter, workspace, fresh_database):
    """A consume locks the open counter row, then inserts its record, whose foreign key takes a
    key-share lock on the entitlement; a rollover locks the entitlement, then the counter row.
    Here the consume holds the counter row and the rollover is blocked on it: the consume's
    record must still go in (the rollover's entitlement lock must not exclude key share), or
    each waits for the other until the deadlock detector kills one, a second lost each time."""
    feature, setting = "api-calls", target_adapter.setting
    rolled: list = []

    def rollover(conn: psycopg.Connection) -> None:
        try:
            with conn.transaction():
                bind_workspace(conn, setting, workspace)
                rolled.append(conn.execute("select * from rollover_usage_period(%s, %s)",
                                           (workspace, feature)).fetchone())
        except psycopg.Error as exc:
            rolled.append(exc)

    with fresh_database.connect_app() as consumer, fresh_database.connect_app() as roller, \
            fresh_database.connect_owner() as watcher:
        with consumer.transaction():
            bind_workspace(consumer, setting, workspace)
            consumer.execute("update usage_counters set used = used + 1 where workspace_id = %s "
                             "and feature = %s and not closed", (workspace, feature))
            thread = threading.Thread(target=rollover, args=(roller,))
            thread.start()
            _wait_until_blocked(watcher, roller.info.backend_pid)
            consumer.execute("set local lock_timeout = '5s'")
            consumer.execute(
                "insert into consumption_records (workspace_id, feature, idempotency_key, amount, "
                "granted, period_start) select workspace_id, feature, 'k', 1, true, period_start "
                "from usage_counters where workspace_id = %s and feature = %s and not closed",
                (workspace, feature))
        thread.join(timeout=30)
    assert len(rolled) == 1 and not isinstance(rolled[0], Exception), rolled
    assert rolled[0][1] == 1  # the rollover closed the period with the consume's unit in it


def _wait_until_blocked(watcher: psycopg.Connection, pid: int) -> None:
    for _ in range(400):
        row = watcher.execute("select wait_event_type from pg_stat_activity where pid = %s",
                              (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.025)
    raise AssertionError(f"the rollover (backend {pid}) never waited for the counter row lock")
