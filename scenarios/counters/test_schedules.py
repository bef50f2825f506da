"""Generated concurrent schedules of consume, retry, reset and plan change
(S10.quota-reset-consistency)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.counters import (
    ISOLATION_LEVELS,
    CounterFailure,
    PlanTerms,
    Step,
    check_history,
    open_sessions,
    run_schedule,
)
from harness.evidence import attach_json
from scenarios.counters.conftest import feature_name

MAX_THREADS = 4
KEYS = 6  # a small pool of idempotency keys, so retries of the same key happen across threads
START = PlanTerms(quota=4, grace=1)

steps = st.one_of(
    st.builds(lambda amount, key: Step("consume", amount=amount, key=f"k{key}"),
              st.integers(1, 3), st.integers(0, KEYS - 1)),
    st.just(Step("reset")),
    st.builds(lambda quota, grace: Step("plan", quota=quota, grace=grace),
              st.integers(0, 6), st.integers(0, 2)),
)
schedules = st.lists(st.lists(steps, min_size=1, max_size=5), min_size=2, max_size=MAX_THREADS)


@pytest.mark.evidence("S10.quota-reset-consistency", story="F7-E2-S2")
@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_every_generated_schedule_has_a_serial_explanation(counters, counter_workspace,
                                                            counter_profile, isolation):
    """Hypothesis generates 2-4 threads, each running up to five calls mixing consume, a retry
    with an idempotency key another call used, period reset and plan change (quota raised or
    lowered); the threads start together. Each history must be explained by a serial order: no
    lost update, no double count of a retried key, no usage in two periods, no grant above the
    quota in force at that point. The examples tried are attached."""
    examples: list[dict] = []
    failures: list[CounterFailure] = []

    @settings(max_examples=counter_profile.schedule_examples, deadline=None, database=None,
              phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: races vary
              suppress_health_check=[HealthCheck.too_slow])
    @given(schedule=schedules)
    def explained(schedule):
        feature = feature_name("schedule", isolation, len(examples))
        keyed = [[Step(s.kind, s.amount, f"{feature}-{s.key}" if s.key else "", s.quota, s.grace)
                  for s in thread] for thread in schedule]
        history = run_schedule(counters, sessions, counter_workspace, feature, START, keyed, isolation)
        examples.append({"threads": len(schedule), "calls": len(history.operations),
                         "periods": len(history.final_periods)})
        try:
            check_history(history, f"generated schedule at {isolation}")
        except CounterFailure as failure:
            failures.append(failure)
            raise

    try:
        with open_sessions(counters, MAX_THREADS, isolation) as sessions:
            explained()
    except Exception:
        # a race need not fail twice: hypothesis then reports it as flaky, wrapping the failure;
        # the first failure, with its history and the serial orders tried, is the evidence
        if failures:
            raise failures[0] from None
        raise
    finally:
        attach_json({"isolation": isolation, "examples_tried": len(examples), "examples": examples},
                    "generated schedules tried")
    assert examples
