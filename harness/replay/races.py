"""Races and crashes: N contenders released together, and a backend killed before its commit.

:func:`race` runs ``action(i)`` in N threads held at one :class:`threading.Barrier`, so they
reach the database as close together as Python allows; :func:`repeat_race` repeats that for a
number of rounds and keeps every outcome, because one lucky round proves nothing and the report
must say how many rounds ran. :func:`terminate_backend` is the crash: an owner connection calls
``pg_terminate_backend`` on the handler's connection after its effect is written and before
its commit, which is what a killed worker looks like to PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg

__all__ = ["RaceRound", "race", "repeat_race", "terminate_backend"]

MAX_CONTENDERS = 32


@dataclass
class RaceRound:
    round_no: int
    outcomes: list[Any] = field(default_factory=list)   # each contender's result or exception

    def errors(self) -> list[BaseException]:
        return [o for o in self.outcomes if isinstance(o, BaseException)]


def race(contenders: int, action: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """``action(i)`` for i in 0..contenders-1, all released by one barrier; results in order."""
    if not 2 <= contenders <= MAX_CONTENDERS:
        raise ValueError(f"race: contenders must be 2..{MAX_CONTENDERS}, got {contenders}")
    barrier = threading.Barrier(contenders, timeout=timeout)

    def contender(i: int) -> Any:
        barrier.wait()
        try:
            return action(i)
        except Exception as exc:  # noqa: BLE001 - an exception is an outcome to judge
            return exc

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        return [f.result(timeout=timeout) for f in [pool.submit(contender, i) for i in range(contenders)]]


def repeat_race(rounds: int, contenders: int, setup: Callable[[int], Any],
                action: Callable[[Any, int], Any]) -> list[tuple[Any, RaceRound]]:
    """``rounds`` races; ``setup(round)`` makes each round's subject, ``action(subject, i)`` races."""
    results = []
    for n in range(rounds):
        subject = setup(n)
        results.append((subject, RaceRound(n, race(contenders, lambda i, s=subject: action(s, i)))))
    return results


def terminate_backend(owner: Callable[[], psycopg.Connection]) -> Callable[[int], None]:
    """A ``before_commit`` hook: kills the given backend from a separate owner connection."""
    def kill(backend_pid: int) -> None:
        with owner() as conn:
            # with a timeout it waits until the backend is gone, so the commit surely fails
            conn.execute("select pg_terminate_backend(%s, 5000)", (backend_pid,))
    return kill
