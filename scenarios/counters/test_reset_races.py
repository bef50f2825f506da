"""Period rollover racing with consumption (S10.quota-reset-consistency)."""

from __future__ import annotations

import pytest

from harness.counters import (
    ISOLATION_LEVELS,
    PlanTerms,
    Step,
    check_history,
    open_sessions,
    run_schedule,
)
from harness.evidence import attach_json
from scenarios.counters.conftest import feature_name

CONSUMERS, CONSUMES_EACH, RESETS = 8, 4, 3


@pytest.mark.evidence("S10.quota-reset-consistency", story="F7-E2-S2")
@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_a_rollover_racing_consumes_loses_and_double_counts_nothing(counters, counter_workspace,
                                                                    counter_profile, isolation):
    """Eight consumers (four consumes each) and one worker rolling the period over three times
    are released together: every granted consume counts in exactly one period, each closed
    period keeps exactly the usage granted in it, the new period starts empty, and some serial
    order explains every answer. Repeated; the runs tried are attached."""
    runs: list[dict] = []
    terms = PlanTerms(quota=20)
    try:
        with open_sessions(counters, CONSUMERS + 1, isolation) as sessions:
            for repeat in range(counter_profile.reset_race_repeats):
                feature = feature_name("reset", isolation, repeat)
                schedule = [[Step("consume", amount=1, key=f"{feature}-{w}-{n}")
                             for n in range(CONSUMES_EACH)] for w in range(CONSUMERS)]
                schedule.append([Step("reset")] * RESETS)
                history = run_schedule(counters, sessions, counter_workspace, feature, terms,
                                       schedule, isolation)
                runs.append({"repeat": repeat, "calls": len(history.operations),
                             "periods": [(p.period, p.used) for p in history.final_periods]})
                check_history(history, f"rollover race at {isolation}")
    finally:
        attach_json({"isolation": isolation, "runs_tried": len(runs), "runs": runs},
                    "rollover races tried")
    assert len(runs) == counter_profile.reset_race_repeats


FULL_CONSUMERS, FULL_CONSUMES_EACH = 8, 6


@pytest.mark.evidence("S10.quota-reset-consistency", story="F7-E2-S2")
def test_a_whole_allowance_asked_across_a_rollover_is_granted_in_the_new_period(
        counters, counter_workspace, counter_profile):
    """Eight consumers each ask for the whole allowance (amount = quota) six times while one
    worker rolls the period over three times: the first consume of each period is granted, the
    rest denied, and some serial order explains every answer. A consume that waited on the
    period being closed must look again and find the new, empty period with room for exactly
    its amount: a denial there (an exact fit judged as no fit) has no serial explanation. At
    read committed only: that is where a blocked statement re-reads the newest row instead of
    failing with 40001. Repeated; the runs tried are attached."""
    runs: list[dict] = []
    terms, isolation = PlanTerms(quota=3), "read committed"
    try:
        with open_sessions(counters, FULL_CONSUMERS + 1, isolation) as sessions:
            for repeat in range(counter_profile.reset_race_repeats):
                feature = feature_name("full-reset", repeat)
                schedule = [[Step("consume", amount=terms.limit, key=f"{feature}-{w}-{n}")
                             for n in range(FULL_CONSUMES_EACH)] for w in range(FULL_CONSUMERS)]
                schedule.append([Step("reset")] * RESETS)
                history = run_schedule(counters, sessions, counter_workspace, feature, terms,
                                       schedule, isolation)
                runs.append({"repeat": repeat, "calls": len(history.operations),
                             "periods": [(p.period, p.used) for p in history.final_periods]})
                check_history(history, "whole-allowance consumes racing a rollover")
    finally:
        attach_json({"isolation": isolation, "runs_tried": len(runs), "runs": runs},
                    "whole-allowance rollover races tried")
    assert len(runs) == counter_profile.reset_race_repeats
