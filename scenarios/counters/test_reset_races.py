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
