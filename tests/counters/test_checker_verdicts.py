"""The counter checker judges and never crashes: whatever a target answers, the verdict is a
serial order or a :class:`CounterFailure` carrying the history, never a harness exception (which
the packet would show as *error*, telling the release lead the harness broke).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    check_race,
)
from harness.counters.capability import PlanTerms

P1, P2 = "2026-11-01", "2026-12-01"
START = PeriodUsage(P1, 0, 3, 0, False)


def test_a_retry_counted_twice_is_a_failure_of_the_target_with_the_history():
    """The double-counted retry: both calls answer the first outcome (granted, used=1), the
    stored counter says 2 and one record exists. The search ends at the stored state, which no
    order explains; that refusal names the end state instead of breaking the checker."""
    ops = [Operation(0, 0, "consume", {"amount": 1, "key": "k"}, 0, 10,
                     ConsumeOutcome(True, 1, 3, 0, P1)),
           Operation(1, 1, "consume", {"amount": 1, "key": "k"}, 0, 10,
                     ConsumeOutcome(True, 1, 3, 0, P1, replayed=True))]
    h = History(ops, START, [PeriodUsage(P1, 2, 3, 0, False)], [UsageRecord("k", 1, True, P1)])
    with pytest.raises(CounterFailure) as failure:
        check_history(h, "same-key race")
    sections = dict(failure.value.context)
    assert "the counter says 2 but the granted consumption records add up to 1" in sections["problems"]
    assert "the state stored at the end" in sections["serial orders tried"]
    assert '"key": "k"' in sections["history"]
    assert not any(title.startswith("checker defect") for title in sections)


def test_what_the_checker_cannot_read_fails_the_target_and_keeps_the_defect_apart():
    """A history the checker cannot even walk (an entry that is no call at all) is a failure
    of the target with the raw history attached; the checker's traceback is its own section."""
    h = History([None], START, [PeriodUsage(P1, 0, 3, 0, False)], [])  # type: ignore[list-item]
    with pytest.raises(CounterFailure) as failure:
        check_history(h, "unreadable")
    sections = dict(failure.value.context)
    assert "could not explain this history" in failure.value.message
    assert "Traceback" in sections["checker defect (a harness bug, not the verdict)"]
    assert "history" in sections


# -- arbitrary and corrupted histories --------------------------------------------------------

periods = st.sampled_from([P1, P2, "", "not-a-period"])
counts = st.integers(-5, 8)
outcomes = st.one_of(
    st.none(),
    st.builds(ConsumeOutcome, st.booleans(), counts, counts, counts, periods, st.booleans()),
    st.builds(PeriodRollover, periods, counts, periods),
    st.builds(PlanChange, periods, counts, counts, counts),
    st.sampled_from(["granted", 42, {"used": 1}]),          # answers of a shape nobody knows
)
arguments = st.one_of(
    st.fixed_dictionaries({"amount": counts, "key": st.sampled_from(["a", "b", "c", ""])}),
    st.fixed_dictionaries({"quota": counts, "grace": counts}),
    st.just({}),
    st.dictionaries(st.sampled_from(["amount", "key", "quota", "x"]),
                    st.one_of(st.none(), st.integers(-2, 3), st.text(max_size=3)), max_size=3),
)
operations = st.builds(
    Operation, st.integers(0, 6),                          # duplicated indices happen
    st.integers(0, 3), st.sampled_from(["consume", "reset", "plan", "refund"]), arguments,
    st.integers(0, 50), st.integers(0, 50),                # completed before invoked happens
    outcomes, st.one_of(st.none(), st.just("OperationalError: gone")))
histories = st.builds(
    History, st.lists(operations, max_size=7), st.builds(PeriodUsage, periods, counts, counts, counts, st.booleans()),
    st.lists(st.builds(PeriodUsage, periods, counts, counts, counts, st.booleans()), max_size=3),
    st.lists(st.builds(UsageRecord, st.sampled_from(["a", "b", "c"]), counts, st.booleans(),
                       st.one_of(st.none(), periods)), max_size=4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories)
def test_any_history_gets_a_verdict(history):
    """Negative counts, unknown keys and kinds, out-of-order times, duplicate indices and
    answers of unknown shapes: the checker returns a serial order or raises CounterFailure with
    the history attached, nothing else."""
    try:
        explanation = check_history(history, "arbitrary")
    except CounterFailure as failure:
        assert "history" in dict(failure.context)
    else:
        assert explanation.explained


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories, requests=st.integers(0, 8))
def test_any_race_gets_a_verdict(history, requests):
    try:
        check_race(history, requests, 1, PlanTerms(quota=3), "arbitrary race")
    except CounterFailure as failure:
        assert failure.context
