"""The serial-order checker on hand-written histories (no database): it explains correct
concurrent histories and refutes each classic counter bug, naming the orders it tried."""

from __future__ import annotations

import pytest

from harness.counters import (
    ConsumeOutcome,
    CounterFailure,
    History,
    Operation,
    PeriodRollover,
    PeriodUsage,
    PlanChange,
    UsageRecord,
    check_history,
    explain,
)

P1, P2 = "2026-11-01", "2026-12-01"
START = PeriodUsage(P1, 0, 3, 0, False)


def consume(i, worker, amount, key, granted, used, t, *, period=P1, quota=3, grace=0, replayed=False):
    return Operation(i, worker, "consume", {"amount": amount, "key": key}, t[0], t[1],
                     ConsumeOutcome(granted, used, quota, grace, period, replayed))


def history(ops, periods, records):
    return History(list(ops), START, list(periods), list(records))


def records(*rows):
    return [UsageRecord(k, a, g, p) for k, a, g, p in rows]


def test_concurrent_grants_and_a_denial_are_explained_in_counter_order():
    ops = [consume(0, 0, 1, "a", True, 2, (0, 10)), consume(1, 1, 1, "b", True, 1, (0, 10)),
           consume(2, 2, 2, "c", False, 2, (0, 10)), consume(3, 3, 1, "d", True, 3, (0, 10))]
    found = check_history(history(ops, [PeriodUsage(P1, 3, 3, 0, False)],
                                  records(("a", 1, True, P1), ("b", 1, True, P1), ("c", 2, False, P1),
                                          ("d", 1, True, P1))), "concurrent")
    assert found.order[:2] == (1, 0) and found.order[-1] == 3


def test_a_lost_update_has_no_serial_order():
    ops = [consume(0, 0, 1, "a", True, 1, (0, 10)), consume(1, 1, 1, "b", True, 1, (0, 10))]
    h = history(ops, [PeriodUsage(P1, 1, 3, 0, False)], records(("a", 1, True, P1), ("b", 1, True, P1)))
    assert not explain(h).explained
    with pytest.raises(CounterFailure) as failure:
        check_history(h, "lost update")
    titles = [t for t, _ in failure.value.context]
    assert "serial orders tried" in titles and "timeline (worker, call, what it saw)" in titles
    assert "records add up to 2" in failure.value.message


def test_a_retried_key_counted_twice_has_no_serial_order():
    ops = [consume(0, 0, 1, "a", True, 1, (0, 10)), consume(1, 1, 1, "a", True, 2, (0, 10))]
    h = history(ops, [PeriodUsage(P1, 2, 3, 0, False)], records(("a", 1, True, P1)))
    explanation = explain(h)
    assert not explanation.explained
    assert any("already ran" in why for d in explanation.dead_ends for _, why in d.refused)


def test_a_grant_above_the_quota_in_force_is_refuted():
    ops = [Operation(0, 0, "plan", {"quota": 1, "grace": 0}, 0, 5, PlanChange(P1, 0, 1, 0)),
           consume(1, 1, 2, "a", True, 2, (6, 10))]  # invoked after the plan change returned
    h = history(ops, [PeriodUsage(P1, 2, 1, 0, False)], records(("a", 2, True, P1)))
    assert not explain(h).explained


def test_real_time_order_is_respected():
    # b returned before a was invoked, so b came first: a cannot have seen used=1
    ops = [consume(0, 0, 1, "a", True, 1, (20, 30)), consume(1, 1, 1, "b", True, 2, (0, 10))]
    h = history(ops, [PeriodUsage(P1, 2, 3, 0, False)], records(("a", 1, True, P1), ("b", 1, True, P1)))
    assert not explain(h).explained


def test_a_reset_that_loses_usage_is_refuted_and_a_clean_one_explained():
    grant = consume(0, 0, 1, "a", True, 1, (0, 10))
    late = consume(2, 2, 1, "b", True, 1, (0, 10), period=P2)
    clean = Operation(1, 1, "reset", {}, 0, 10, PeriodRollover(P1, 1, P2))
    ok = history([grant, clean, late], [PeriodUsage(P1, 1, 3, 0, True), PeriodUsage(P2, 1, 3, 0, False)],
                 records(("a", 1, True, P1), ("b", 1, True, P2)))
    assert explain(ok).order == (0, 1, 2)
    lossy = Operation(1, 1, "reset", {}, 0, 10, PeriodRollover(P1, 0, P2))  # closed at a stale 0
    bad = history([grant, lossy, late], [PeriodUsage(P1, 0, 3, 0, True), PeriodUsage(P2, 1, 3, 0, False)],
                  records(("a", 1, True, P1), ("b", 1, True, P2)))
    assert not explain(bad).explained


def test_a_failed_call_is_a_failure_with_the_history():
    ops = [Operation(0, 0, "consume", {"amount": 1, "key": "a"}, 0, 5, None, "TypeError: boom")]
    with pytest.raises(CounterFailure, match="the call failed"):
        check_history(history(ops, [PeriodUsage(P1, 0, 3, 0, False)], []), "errors")


def test_many_interchangeable_denials_stay_tractable():
    ops = [consume(0, 0, 3, "a", True, 3, (0, 10))]
    ops += [consume(i, i, 1, f"d{i}", False, 3, (0, 10)) for i in range(1, 60)]
    h = history(ops, [PeriodUsage(P1, 3, 3, 0, False)],
                records(("a", 3, True, P1), *[(f"d{i}", 1, False, P1) for i in range(1, 60)]))
    explanation = explain(h)
    assert explanation.explained and explanation.expansions < 100
