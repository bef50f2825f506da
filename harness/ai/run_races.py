"""One transition asked for at once by several workers: exactly one of them gets it.

The transition matrix asks for each move once. A run that two workers start at the same moment
must be started once: the other worker is refused, or both believe they own the run and execute
it twice. A target that reads the run's state without locking it before moving it (a lost
``FOR UPDATE``), where the database lets a state be "moved" to itself, answers both. Each race
creates a pending run and releases ``workers`` starts together (a barrier), each through an
adapter of its own (as separate service instances would: an adapter may hold one connection);
the answers are judged: one allowed, every other refused (:class:`IllegalTransition`, or rolled
back by the database: nothing changed).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from harness.ai.agent_runs import observed_state, reach
from harness.ai.protocols import AgentRuns, IllegalTransition

__all__ = ["concurrent_start_observations"]

_ROLLED_BACK = ("40001", "40P01")     # serialization failure, deadlock: the move did not happen


def concurrent_start_observations(adapter: AgentRuns, workers: Sequence[AgentRuns], workspace: UUID,
                                  *, races: int = 32) -> list[dict[str, Any]]:
    """``races`` pending runs (made through ``adapter``), each started by every one of
    ``workers`` (adapters of their own) at once.

    Whether the starts overlap is up to the scheduler, so a lost row lock is caught by most
    races, not every one: 8 races once all missed it in a full test run on a loaded 2-core
    machine (a race takes ~5 ms; 32 make a miss of all of them far rarer, as with
    :func:`harness.isolation.owner_race.owner_races`)."""
    return [_race(adapter, workers, workspace) for _ in range(races)]


def _race(adapter: AgentRuns, workers: Sequence[AgentRuns], workspace: UUID) -> dict[str, Any]:
    run = reach(adapter, workspace, "pending")
    barrier = threading.Barrier(len(workers))
    answers = [""] * len(workers)

    def start(n: int) -> None:
        barrier.wait()
        try:
            workers[n].start_run(workspace, run)
            answers[n] = "allowed"
        except IllegalTransition:
            answers[n] = "refused"
        except Exception as exc:  # the target's answer, judged: never a crash of the harness
            code = getattr(exc, "sqlstate", None)
            answers[n] = "refused" if code in _ROLLED_BACK else f"raised {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=start, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = observed_state(adapter, workspace, run)
    passed = answers.count("allowed") == 1 and answers.count("refused") == len(workers) - 1 and after == "running"
    return {"run": str(run), "answers": answers, "state after": after, "passed": passed}
