"""Entitlement counter races (S10): the ``entitlements`` capability and the checks that judge it.

Plain modules, usable without pytest: :mod:`~harness.counters.capability` (the Protocol and what
a call reports), :mod:`~harness.counters.history` (who did what, when, and what they saw),
:mod:`~harness.counters.schedule` (workers released by a barrier), :mod:`~harness.counters.serial`
(the serial-order search), :mod:`~harness.counters.checks` (the checks raising
:class:`CounterFailure`), :mod:`~harness.counters.throughput` (consumes/s beside pgbench).
"""

from harness.counters.capability import (
    CAPABILITY,
    ISOLATION_LEVELS,
    ConsumeOutcome,
    CounterFailure,
    EntitlementCapability,
    EntitlementSession,
    PeriodRollover,
    PeriodUsage,
    PlanChange,
    PlanTerms,
    UsageRecord,
)
from harness.counters.checks import check_boundary, check_history, check_race, history_problems
from harness.counters.history import CONSUME, PLAN, RESET, History, HistoryRecorder, Operation
from harness.counters.schedule import Step, barrier_race, open_sessions, run_schedule
from harness.counters.serial import Explanation, explain
from harness.families import Family, Variant

__all__ = ["FAMILY",
    "CAPABILITY", "CONSUME", "ISOLATION_LEVELS", "PLAN", "RESET", "ConsumeOutcome", "CounterFailure",
    "EntitlementCapability", "EntitlementSession", "Explanation", "History", "HistoryRecorder",
    "Operation", "PeriodRollover", "PeriodUsage", "PlanChange", "PlanTerms", "Step", "UsageRecord",
    "barrier_race", "check_boundary", "check_history", "check_race", "explain", "history_problems",
    "open_sessions", "run_schedule",
]

_ACCURACY, _RESET = "S10.entitlement-counter-accuracy", "S10.quota-reset-consistency"
# a variant skips the throughput test (speed; the races must catch it) and stops at its first
# failing test: one failure is the proof, the rest only costs time
_FIRST_FAILURE = ("--deselect", "scenarios/counters/test_throughput.py", "--maxfail=1")

# the family: entitlement counters under races, judged by serial explanations
FAMILY = Family(
    name="counters", package="harness.counters",
    items=(_ACCURACY, _RESET),
    failure=CounterFailure,
    capabilities={CAPABILITY: EntitlementCapability},
    profile="fixtures/counters/profiles.yaml",
    profile_loader="harness.counters.profile:load_profile",
    variant_prefix="counters-",
    variants={
        "counters-select-then-update": Variant(frozenset({_ACCURACY}), frozenset(),
                                               pytest_args=_FIRST_FAILURE),
        "counters-separate-quota-check": Variant(frozenset({_ACCURACY}), frozenset(),
                                                 pytest_args=_FIRST_FAILURE),
        # the rollover mistake touches no consume, so the accuracy item must not notice it
        "counters-delete-reinsert-reset": Variant(frozenset({_RESET}), pytest_args=_FIRST_FAILURE),
        "counters-key-checked-outside": Variant(frozenset({_ACCURACY}), frozenset(),
                                                pytest_args=_FIRST_FAILURE),
        # right answers, wrong counter: failed (the target's fault), never error
        "counters-retry-counted-twice": Variant(frozenset({_ACCURACY}), frozenset(),
                                                pytest_args=_FIRST_FAILURE),
        # a key unique across all workspaces refuses workspace B the key A used: only the test
        # made for it can see it (the races reuse no key across workspaces and pass), so the run
        # is that test's alone (~18 s of races before it, in file order, otherwise)
        "counters-key-unique-across-tenants": Variant(frozenset({_ACCURACY}), frozenset(),
                                                      select="key_reused_in_another_workspace",
                                                      pytest_args=_FIRST_FAILURE,
                                                      tests={"key_reused_in_another_workspace": "failed"}),
        # only a consume that waited on a rollover takes the denial's second look
        "counters-exact-fit-denied": Variant(frozenset({_RESET}), frozenset(),
                                             select="whole_allowance", pytest_args=_FIRST_FAILURE),
    },
)
