"""Backoff judged on plain data: a retry due at once, shrinking delays and delays above the cap
are problems; doubling delays are not; anything else gets a verdict, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from harness.replay.backoff import ScheduledRetry, backoff_problems

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def schedule(*seconds: float) -> list[ScheduledRetry]:
    return [ScheduledRetry(T0 + timedelta(seconds=n), T0 + timedelta(seconds=n + s))
            for n, s in enumerate(seconds)]


def test_doubling_delays_under_the_cap_back_off():
    assert backoff_problems(schedule(2, 4, 8, 16), cap_s=3600) == []


def test_retries_due_at_once_do_not_back_off():
    problems = backoff_problems(schedule(0, -0.001, 0.0, 0.0), cap_s=3600)
    assert len(problems) == 4 and all("a positive delay" in p for p in problems)


def test_shrinking_delays_and_delays_above_the_cap_are_named():
    assert any("must not shrink" in p for p in backoff_problems(schedule(8, 4), cap_s=3600))
    assert any("above the cap" in p for p in backoff_problems(schedule(2, 7200), cap_s=3600))


@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(-1e6, 1e6), st.text(max_size=3)),
                          st.integers(-10, 10)), max_size=6))
def test_any_schedule_gets_a_verdict(raw):
    retries = [ScheduledRetry(T0 + timedelta(seconds=n),
                              T0 + timedelta(seconds=v) if isinstance(v, float) else v)
               for v, n in raw]
    assert isinstance(backoff_problems(retries, cap_s=60), list)
