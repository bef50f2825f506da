"""Barrier races on one counter (S10.entitlement-counter-accuracy)."""

from __future__ import annotations

import pytest

from harness.counters import (
    ISOLATION_LEVELS,
    History,
    PlanTerms,
    barrier_race,
    check_history,
    check_race,
    open_sessions,
    run_schedule,
)
from harness.counters.schedule import Step
from harness.evidence import attach_json
from scenarios.counters.conftest import feature_name


def _summary(history: History, **about) -> dict:
    seen = [op.outcome for op in history.operations if op.outcome is not None]
    return {**about, "calls": len(history.operations), "granted": sum(o.granted for o in seen),
            "replayed": sum(getattr(o, "replayed", False) for o in seen),
            "max_attempts": max((o.attempts for o in seen), default=0)}


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S1")
@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_a_barrier_race_grants_exactly_the_quota(counters, counter_workspace, counter_profile, isolation):
    """N connections (2..64) released together by a barrier each consume 1 against a quota of
    N//2: exactly min(N, Q) are granted, the stored counter equals the granted records, nothing is
    negative, and some serial order explains every answer. Each race is repeated so that a lucky
    pass is unlikely; the runs tried are attached."""
    runs: list[dict] = []
    try:
        with open_sessions(counters, max(counter_profile.race_workers), isolation) as sessions:
            for workers in counter_profile.race_workers:
                terms = PlanTerms(quota=max(workers // 2, 1))
                for repeat in range(counter_profile.race_repeats):
                    feature = feature_name("race", isolation, workers, repeat)
                    history = run_schedule(counters, sessions, counter_workspace, feature, terms,
                                           barrier_race(workers, 1, feature), isolation)
                    runs.append(_summary(history, workers=workers, repeat=repeat, quota=terms.quota))
                    check_race(history, workers, 1, terms, f"race of {workers} at {isolation}")
    finally:
        attach_json({"isolation": isolation, "runs_tried": len(runs), "runs": runs},
                    "barrier races tried")
    assert len(runs) == len(counter_profile.race_workers) * counter_profile.race_repeats


@pytest.mark.evidence("S10.entitlement-counter-accuracy", story="F7-E2-S2")
@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_a_retried_key_racing_itself_is_counted_once(counters, counter_workspace, counter_profile,
                                                     isolation):
    """N connections released together send N/2 requests, each twice at once under the same
    idempotency key: exactly one consume per key counts, the twin answers the same outcome, and
    the counter equals the granted records."""
    runs: list[dict] = []
    try:
        with open_sessions(counters, max(counter_profile.race_workers), isolation) as sessions:
            for workers in (w for w in counter_profile.race_workers if w >= 2):
                terms = PlanTerms(quota=workers)
                for repeat in range(counter_profile.race_repeats):
                    feature = feature_name("retry", isolation, workers, repeat)
                    schedule = [[Step("consume", amount=1, key=f"{feature}-{w // 2}")]
                                for w in range(workers)]
                    history = run_schedule(counters, sessions, counter_workspace, feature, terms,
                                           schedule, isolation)
                    runs.append(_summary(history, workers=workers, repeat=repeat, keys=workers // 2))
                    check_history(history, f"same-key race of {workers} at {isolation}")
    finally:
        attach_json({"isolation": isolation, "runs_tried": len(runs), "runs": runs},
                    "same-key races tried")
    assert runs
