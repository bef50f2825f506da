"""Requests queued behind a lock the harness holds: how many, and when to let them go.

Two checks hold a lock while concurrent requests arrive: the load probe locks the listed table
to count how many requests reach the database at once (``harness.load.probe``), and the API's
race checks lock the contended row so that every writer has read it before any writes
(``harness.api.invariants``). Both count the backends waiting behind the holder and release
the lock once every request is queued, or once the count has stopped moving (fewer can arrive:
a small connection pool), or at a time limit.

A backend waiting on a row waits on the holder only if it came first; the others queue behind
it (PostgreSQL's tuple lock), so the count follows ``pg_blocking_pids`` from the holder through
the waiters it blocks, whatever the lock's kind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

__all__ = ["Queue", "queued_behind", "until_queued"]

_QUEUED = """
with recursive queued(pid) as (
    select pid from pg_stat_activity where %(holder)s = any(pg_blocking_pids(pid))
    union
    select a.pid from pg_stat_activity a join queued q on q.pid = any(pg_blocking_pids(a.pid))
)
select count(*) from queued"""


def queued_behind(watcher: psycopg.Connection, holder: int) -> int:
    """The backends waiting, directly or behind another waiter, on backend ``holder``."""
    return int(watcher.execute(_QUEUED, {"holder": holder}).fetchone()[0])


@dataclass(frozen=True)
class Queue:
    timeline: tuple[tuple[float, int], ...]   # (seconds since the start, backends queued)
    settled: bool                             # every request queued, or the count stopped moving

    @property
    def most(self) -> int:
        return max((n for _, n in self.timeline), default=0)

    @property
    def last(self) -> int:
        return self.timeline[-1][1] if self.timeline else 0


def until_queued(count: Callable[[], int], sent: int, *, limit_s: float, steady_s: float,
                 poll_s: float = 0.05) -> Queue:
    """Polls ``count()`` until ``sent`` are queued, or some are and the count has not moved for
    ``steady_s`` (a loaded machine takes a moment to deliver the first), or ``limit_s`` passed
    (then ``settled`` is False)."""
    timeline: list[tuple[float, int]] = []
    other_at = None      # when a count other than the current one was last seen
    began = time.monotonic()
    while (elapsed := time.monotonic() - began) < limit_s:
        queued = count()
        if timeline and timeline[-1][1] != queued:
            other_at = timeline[-1][0]
        timeline.append((round(elapsed, 2), queued))
        if queued >= sent:
            return Queue(tuple(timeline), True)
        steady = other_at is None or other_at < elapsed - steady_s
        if queued and elapsed > steady_s and steady:
            return Queue(tuple(timeline), True)
        time.sleep(poll_s)
    return Queue(tuple(timeline), False)
