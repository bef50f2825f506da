"""The serial-order checker on hand-written histories (no database): it explains correct
concurrent histories and refutes each classic counter bug, naming the orders it tried."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

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

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "counters" / "histories"
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


def plan(i, worker, quota, grace, used, t, *, period=P1):
    return Operation(i, worker, "plan", {"quota": quota, "grace": grace}, t[0], t[1],
                     PlanChange(period, used, quota, grace))


def test_a_plan_change_reasserting_the_terms_in_force_may_come_after_an_overlapping_one():
    # 0 (5+0) and 1 (3+0, the terms already in force) overlap; the denial after both saw 3+0,
    # so 0 came first. 1 changes nothing where the search starts, but it is not a no-op: placed
    # first, 0 would leave 5+0 in force and the denial would have no explanation.
    ops = [plan(0, 0, 5, 0, 0, (0, 10)), plan(1, 1, 3, 0, 0, (0, 10)),
           consume(2, 2, 4, "a", False, 0, (20, 30))]
    h = history(ops, [PeriodUsage(P1, 0, 3, 0, False)], records(("a", 4, False, P1)))
    assert check_history(h, "re-asserted plan").order == (0, 1, 2)
    late = [ops[0], plan(1, 1, 3, 0, 0, (0, 10)), consume(2, 2, 4, "a", True, 4, (20, 30), quota=5)]
    assert explain(history(late, [PeriodUsage(P1, 4, 5, 0, False)],
                           records(("a", 4, True, P1)))).order == (1, 0, 2)


def recorded(name):
    return History.from_json(json.loads((RECORDED / name).read_text()))


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDED.glob("*.json")))
def test_recorded_database_histories_are_explained(name):
    """Histories the reference produced at read committed under CPU load, which an earlier
    checker refuted (fixtures/counters/histories, each with a note on its shape)."""
    h = recorded(name)
    found = check_history(h, name)
    assert len(found.order) == len(h.operations)


def test_a_recorded_history_with_one_observation_changed_is_still_refuted():
    h = recorded("plan-reasserted-before-reset.json")
    # the grant in the period the second reset opened claims terms no plan change ever set
    ops = [replace(op, outcome=replace(op.outcome, quota=4, grace=1)) if op.index == 8 else op
           for op in h.operations]
    assert not explain(replace(h, operations=ops)).explained


def test_a_history_survives_its_json_round_trip():
    h = recorded("plan-reasserted-before-consume.json")
    again = History.from_json(json.loads(json.dumps(h.to_json())))
    assert again.operations == h.operations and again.final_periods == h.final_periods
    assert again.final_records == h.final_records and again.start == h.start
