"""Concurrent schedules: workers released together by a barrier, each running its own steps.

A **schedule** is one list of :class:`Step` per worker. Every worker holds its own session (its
own connection), waits at a ``threading.Barrier`` so that all of them start at once, then runs
its steps in order, each one recorded in the :class:`~harness.counters.history.HistoryRecorder`.
A barrier race is the simplest schedule: one consume per worker.

:func:`run_schedule` grants a fresh entitlement (a feature of its own, so runs never share a
counter), runs the schedule and reads back the stored periods and records: the
:class:`~harness.counters.history.History` the checks judge.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from uuid import UUID

from harness.counters.capability import EntitlementCapability, EntitlementSession, PlanTerms
from harness.counters.history import CONSUME, PLAN, RESET, History, HistoryRecorder

__all__ = ["Step", "barrier_race", "open_sessions", "run_schedule"]

BARRIER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Step:
    """One call a worker makes: consume (amount, key), reset, or plan (quota, grace)."""

    kind: str
    amount: int = 0
    key: str = ""
    quota: int = 0
    grace: int = 0

    def args(self) -> dict:
        if self.kind == CONSUME:
            return {"amount": self.amount, "key": self.key}
        if self.kind == PLAN:
            return {"quota": self.quota, "grace": self.grace}
        return {}


@contextmanager
def open_sessions(adapter: EntitlementCapability, count: int,
                  isolation: str) -> Iterator[list[EntitlementSession]]:
    """``count`` sessions (connections) at ``isolation``, closed together on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(adapter.entitlement_session(isolation)) for _ in range(count)]


def barrier_race(workers: int, amount: int, key_prefix: str) -> list[list[Step]]:
    """Each worker consumes ``amount`` once, under its own idempotency key."""
    return [[Step(CONSUME, amount=amount, key=f"{key_prefix}-{w}")] for w in range(workers)]


def run_schedule(adapter: EntitlementCapability, sessions: Sequence[EntitlementSession],
                 workspace: UUID, feature: str, terms: PlanTerms,
                 schedule: Sequence[Sequence[Step]], isolation: str) -> History:
    """Grants ``feature`` on ``terms``, runs ``schedule`` (worker i on ``sessions[i]``), and
    returns the history with the state stored at the end."""
    if len(schedule) > len(sessions):
        raise ValueError(f"a schedule of {len(schedule)} workers needs as many sessions, "
                         f"got {len(sessions)}")
    adapter.grant_entitlement(workspace, feature, terms)
    start = [p for p in adapter.usage_periods(workspace, feature) if not p.closed][-1]
    recorder = HistoryRecorder()
    barrier = threading.Barrier(len(schedule))
    crashed: list[BaseException] = []

    def work(worker: int, session: EntitlementSession, steps: Sequence[Step]) -> None:
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            for step in steps:
                recorder.run(worker, step.kind, step.args(), _call(session, workspace, feature, step))
        except BaseException as exc:  # a harness problem (barrier broken): re-raised below
            crashed.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w, sessions[w], steps), name=f"counter-w{w}")
               for w, steps in enumerate(schedule)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashed:
        raise RuntimeError(f"a schedule worker crashed: {crashed[0]!r}") from crashed[0]
    return recorder.history(start, adapter.usage_periods(workspace, feature),
                            adapter.consumption_records(workspace, feature), isolation)


def _call(session: EntitlementSession, workspace: UUID, feature: str, step: Step):
    if step.kind == CONSUME:
        return lambda: session.consume(workspace, feature, step.amount, step.key)
    if step.kind == RESET:
        return lambda: session.reset_period(workspace, feature)
    if step.kind == PLAN:
        return lambda: session.change_plan(workspace, feature, PlanTerms(step.quota, step.grace))
    raise ValueError(f"unknown step kind {step.kind!r} (consume, reset or plan)")
