"""The history of a concurrent run: which worker did what, when, and what it saw.

Workers call :meth:`HistoryRecorder.run`, which stamps the operation with a monotonic clock on
invocation and on completion and keeps the outcome (or the error). The recorder is thread-safe
and knows nothing of the database: the checker (:mod:`harness.counters.serial`) reads the
operations, and :meth:`History.to_json` is the evidence attached to a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.counters.capability import (
    ConsumeOutcome,
    PeriodRollover,
    PeriodUsage,
    PlanChange,
    UsageRecord,
)

__all__ = ["CONSUME", "PLAN", "RESET", "History", "HistoryRecorder", "Operation"]

CONSUME, RESET, PLAN = "consume", "reset", "plan"
Outcome = ConsumeOutcome | PeriodRollover | PlanChange


@dataclass(frozen=True)
class Operation:
    """One call by one worker: ``args`` are what it asked, ``outcome`` what it saw."""

    index: int
    worker: int
    kind: str                     # consume | reset | plan
    args: dict[str, Any]          # consume: amount, key; plan: quota, grace
    invoked_ns: int
    completed_ns: int
    outcome: Outcome | None
    error: str | None = None

    def precedes(self, other: Operation) -> bool:
        """Real time: this call had returned before ``other`` was invoked."""
        return self.completed_ns < other.invoked_ns

    def describe(self) -> str:
        args = self.args if isinstance(self.args, dict) else {}
        if self.kind == CONSUME:
            ask = f"consume {args.get('amount')} key={args.get('key')}"
        elif self.kind == PLAN:
            ask = f"plan quota={args.get('quota')} grace={args.get('grace')}"
        elif self.kind == RESET:
            ask = "reset period"
        else:
            ask = f"{self.kind} {args}"
        return f"#{self.index} w{self.worker} {ask} -> {self.saw()}"

    def saw(self) -> str:
        o = self.outcome
        if o is None:
            return f"error: {self.error}"
        if isinstance(o, ConsumeOutcome):
            verdict = "granted" if o.granted else "denied"
            return (f"{verdict} used={o.used} quota={o.quota}+{o.grace} period={o.period}"
                    + (" (replayed)" if o.replayed else ""))
        if isinstance(o, PeriodRollover):
            return f"closed {o.closed_period} at used={o.closed_used}, opened {o.opened_period}"
        if isinstance(o, PlanChange):
            return f"period={o.period} used={o.used} now quota={o.quota}+{o.grace}"
        return f"an answer the harness does not know: {o!r}"


@dataclass
class History:
    """Every operation of a run, the terms it started from, and the state stored at the end."""

    operations: list[Operation]
    start: PeriodUsage
    final_periods: list[PeriodUsage] = field(default_factory=list)
    final_records: list[UsageRecord] = field(default_factory=list)
    isolation: str = "read committed"

    def to_json(self) -> dict[str, Any]:
        t0 = min((op.invoked_ns for op in self.operations), default=0)
        return {
            "isolation": self.isolation,
            "start": asdict(self.start),
            "operations": [
                {"index": op.index, "worker": op.worker, "kind": op.kind, "args": op.args,
                 "invoked_ms": round((op.invoked_ns - t0) / 1e6, 3),
                 "completed_ms": round((op.completed_ns - t0) / 1e6, 3),
                 "saw": _plain(op.outcome), "error": op.error}
                for op in sorted(self.operations, key=lambda o: o.invoked_ns)],
            "final_periods": [asdict(p) for p in self.final_periods],
            "final_records": [asdict(r) for r in self.final_records],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        """The history :meth:`to_json` wrote (the one a failure attaches), to replay the checker
        on it; times come back in whole microseconds, as the JSON keeps them."""
        kinds = {CONSUME: ConsumeOutcome, RESET: PeriodRollover, PLAN: PlanChange}
        operations = [Operation(op["index"], op["worker"], op["kind"], dict(op["args"]),
                                round(op["invoked_ms"] * 1e6), round(op["completed_ms"] * 1e6),
                                None if op["saw"] is None else kinds[op["kind"]](**op["saw"]),
                                op.get("error"))
                      for op in data["operations"]]
        return cls(operations, PeriodUsage(**data["start"]),
                   [PeriodUsage(**p) for p in data.get("final_periods", [])],
                   [UsageRecord(**r) for r in data.get("final_records", [])],
                   data.get("isolation", "read committed"))

    def timeline(self) -> str:
        """One line per call in invocation order, for a failure message."""
        t0 = min((op.invoked_ns for op in self.operations), default=0)
        return "\n".join(f"{(op.invoked_ns - t0) / 1e6:9.3f}..{(op.completed_ns - t0) / 1e6:9.3f} ms  "
                         f"{op.describe()}"
                         for op in sorted(self.operations, key=lambda o: o.invoked_ns))


def _plain(outcome: object) -> object:
    """An outcome as JSON data; an answer of an unknown shape is kept as its repr, since the
    history is the evidence and must be written whatever the target answered."""
    if outcome is None:
        return None
    try:
        return asdict(outcome)  # type: ignore[call-overload]
    except TypeError:
        return repr(outcome)


class HistoryRecorder:
    """Collects operations from many worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._operations: list[Operation] = []

    def run(self, worker: int, kind: str, args: dict[str, Any], call: Callable[[], Outcome]) -> Outcome | None:
        """Invokes ``call``, recording it; an exception is recorded as what the worker saw."""
        invoked = time.monotonic_ns()
        outcome, error = None, None
        try:
            outcome = call()
        except Exception as exc:  # the target failed the call: that is history, not a crash
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        completed = time.monotonic_ns()
        with self._lock:
            self._operations.append(Operation(len(self._operations), worker, kind, dict(args),
                                              invoked, completed, outcome, error))
        return outcome

    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._operations)

    def history(self, start: PeriodUsage, final_periods: Iterable[PeriodUsage],
                final_records: Iterable[UsageRecord], isolation: str) -> History:
        return History(self.operations(), start, list(final_periods), list(final_records), isolation)
