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

__all__ = [
    "CAPABILITY", "CONSUME", "ISOLATION_LEVELS", "PLAN", "RESET", "ConsumeOutcome", "CounterFailure",
    "EntitlementCapability", "EntitlementSession", "Explanation", "History", "HistoryRecorder",
    "Operation", "PeriodRollover", "PeriodUsage", "PlanChange", "PlanTerms", "Step", "UsageRecord",
    "barrier_race", "check_boundary", "check_history", "check_race", "explain", "history_problems",
    "open_sessions", "run_schedule",
]
