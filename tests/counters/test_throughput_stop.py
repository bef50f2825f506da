"""Throughput points stop when their rate is stable, not after a fixed time, and say why."""

from __future__ import annotations

import pytest

from harness.counters.throughput import MIN_WINDOWS, STABLE_WINDOWS, consume_rate, stable


def test_a_rate_is_stable_only_when_its_last_windows_agree():
    steady = [100.0] * MIN_WINDOWS
    assert stable(steady, 0.1)
    assert not stable(steady[:-1], 0.1)                       # too few windows to judge
    assert not stable([*steady[:-1], 150.0], 0.1)             # the last window runs away
    assert stable([*steady[:-1], 108.0], 0.1)
    assert not stable([0.0] * (MIN_WINDOWS + STABLE_WINDOWS), 0.1)   # nothing granted: no rate
    assert stable([5.0, 400.0, *[200.0] * STABLE_WINDOWS, *[200.0] * MIN_WINDOWS], 0.1)


@pytest.mark.parametrize("tolerance, reason", [(0.9, "stable"), (None, "fixed")])
def test_a_point_stops_when_stable_or_runs_its_time_and_says_which(target_adapter, tolerance, reason):
    """With a loose tolerance the point ends well before its cap; without one it runs the cap;
    either way every grant is counted once."""
    owner = target_adapter.create_user("rate@example.test")
    workspace = target_adapter.create_workspace("rate", owner)
    cap = 3.0 if tolerance is None else 20.0
    rate = consume_rate(target_adapter, workspace, "rate", 2, cap, tolerance=tolerance)
    assert rate.stopped.startswith(reason), rate.stopped
    assert (rate.seconds < cap / 2) if tolerance is not None else (rate.seconds >= cap)
    assert rate.granted and rate.stored == rate.granted and not rate.denied
