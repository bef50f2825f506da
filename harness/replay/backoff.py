"""Backoff judged from what a retrying run scheduled (S08.dead-letter-escalation).

A retry policy is more than "a next attempt time exists": each failed attempt must push the next
one into the future (a positive delay), the delays must not shrink (non-decreasing) and must stay
under the policy's cap. :func:`backoff_problems` reads each attempt as the harness saw it: when
the call returned (the harness clock, UTC) and the ``next_attempt_at`` the run then held. Read
on one host (loopback or a local socket), the clocks agree; ``clock_tolerance_s`` absorbs the
time between the server's ``now()`` and the call's return. Anything it cannot read as a time
is a problem of the target, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ScheduledRetry", "backoff_problems", "delays"]


@dataclass(frozen=True)
class ScheduledRetry:
    """One failed attempt: when the call returned, and the next attempt time it left behind."""

    returned_at: datetime
    next_attempt_at: Any


def delays(retries: Sequence[ScheduledRetry]) -> list[float | None]:
    """Seconds from each attempt's return to its next attempt (None: not a comparable time)."""
    out: list[float | None] = []
    for r in retries:
        try:
            out.append((r.next_attempt_at - r.returned_at).total_seconds())
        except (TypeError, AttributeError):
            out.append(None)
    return out


def backoff_problems(retries: Sequence[ScheduledRetry], cap_s: float,
                     clock_tolerance_s: float = 0.05) -> list[str]:
    """Empty when every delay is positive, none is shorter than the one before and none
    exceeds ``cap_s`` (each within ``clock_tolerance_s``)."""
    problems = []
    seconds = delays(retries)
    for n, (retry, delay) in enumerate(zip(retries, seconds, strict=True), start=1):
        if delay is None:
            problems.append(f"retry {n}: next attempt {retry.next_attempt_at!r} is not a time")
        elif delay <= clock_tolerance_s:
            problems.append(f"retry {n}: next attempt {delay:+.3f} s after the attempt returned; "
                            "a retry must wait (a positive delay)")
        elif delay > cap_s + clock_tolerance_s:
            problems.append(f"retry {n}: waits {delay:.3f} s, above the cap of {cap_s:g} s")
    timed = [(n, d) for n, d in enumerate(seconds, start=1) if d is not None]
    for (n0, d0), (n1, d1) in zip(timed, timed[1:], strict=False):
        if d1 + clock_tolerance_s < d0:
            problems.append(f"retry {n1} waits {d1:.3f} s, less than retry {n0} ({d0:.3f} s): "
                            "delays must not shrink")
    return problems
