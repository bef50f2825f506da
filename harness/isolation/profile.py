"""The tenant isolation suite's search profile: how many generated examples, and for how long.

Profiles live in ``fixtures/tenant_isolation/profiles.yaml``; ``HARNESS_ISOLATION_PROFILE``
picks one by name (default ``default``). :class:`SearchBudget` bounds a property test as a
whole, shrinking included: hypothesis has no wall-clock limit of its own, so once the budget is
spent every further call returns at once (generation stops finding anything new, and shrinking
stops at the smallest failure found so far). Shrinking has a budget of its own,
``shrink_budget_s`` from the first failure: a leak is found while generating, and every example
shrinking tries costs a database transaction, so without it a failing target spent its whole
search budget (a minute by default) making the example smaller after the verdict was known.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from harness.errors import ConfigError
from harness.yamlfiles import load_text, read_text

__all__ = ["PROFILE_ENV", "BoundedRun", "IsolationProfile", "SearchBudget", "bounded_search",
           "load_profile"]

PROFILE_ENV = "HARNESS_ISOLATION_PROFILE"

# every phase but ``explain``: once a call fails, that phase traces every further call line by
# line (sys.settrace on CPython < 3.12, ~5x slower here) to note which code ran only in failing
# calls, then varies the shrunk example's parts to say which ones did not matter. Neither finds
# nor shrinks a failure; on basejump/helper-ignores-tenant they filled the whole time budget,
# where the search without them, shrinking finished, takes about a second
_PHASES = tuple(p for p in Phase if p is not Phase.explain)


@dataclass(frozen=True)
class IsolationProfile:
    name: str = "default"
    property_examples: int = 25
    property_budget_s: float = 60.0
    shrink_budget_s: float = 10.0     # from the first failure: time to make its example smaller


def load_profile(path: Path, name: str | None = None) -> IsolationProfile:
    """Profile ``name`` (default: ``$HARNESS_ISOLATION_PROFILE`` or ``default``) from ``path``."""
    name = name or os.environ.get(PROFILE_ENV) or "default"
    where = str(path)
    raw = load_text(read_text(path, where, "restore fixtures/tenant_isolation/profiles.yaml"), where) or {}
    if not isinstance(raw, dict) or name not in raw or not isinstance(raw[name], dict):
        raise ConfigError(where, name, "is not a profile in this file",
                          f"set {PROFILE_ENV} to one of {sorted(raw) if isinstance(raw, dict) else []}")
    entry = raw[name]
    examples, budget = entry.get("property_examples"), entry.get("property_budget_s")
    shrink = entry.get("shrink_budget_s", IsolationProfile.shrink_budget_s)
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 1:
        raise ConfigError(where, f"{name}.property_examples", f"is {examples!r}", "write a positive integer")
    for key, value, example in (("property_budget_s", budget, 60), ("shrink_budget_s", shrink, 10)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(where, f"{name}.{key}", f"is {value!r}", f"write seconds, e.g. {example}")
    return IsolationProfile(name, examples, float(budget), float(shrink))


@dataclass
class SearchBudget:
    """Wall-clock budget of one property test; ``spent()`` once it is over, or once
    ``shrink_seconds`` have passed since :meth:`failed` was first called (None: no limit of its
    own on shrinking)."""

    seconds: float
    shrink_seconds: float | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    first_failure: float | None = None
    skipped: int = 0      # calls that returned at once because the budget was spent

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def failed(self) -> None:
        if self.first_failure is None:
            self.first_failure = self.clock()

    def spent(self) -> bool:
        now = self.clock()
        over = now - self.started > self.seconds or (
            self.first_failure is not None and self.shrink_seconds is not None
            and now - self.first_failure > self.shrink_seconds)
        self.skipped += over
        return over

    def stopped(self) -> str:
        """Why the search ended, for the evidence."""
        if not self.skipped:
            return "every example ran"
        if self.first_failure is not None and self.shrink_seconds is not None and \
                self.clock() - self.first_failure > self.shrink_seconds:
            return f"shrink budget: {self.shrink_seconds:g} s after the first failure"
        return f"search budget: {self.seconds:g} s"


@dataclass
class BoundedRun:
    """What a bounded search did: the examples checked, and the calls after the budget."""

    budget: SearchBudget
    examples: list[Any] = field(default_factory=list)


def bounded_search(strategy: SearchStrategy, check: Callable[[Any], None], *, examples: int,
                   seconds: float, run: BoundedRun | None = None,
                   shrink_seconds: float | None = None) -> BoundedRun:
    """Runs ``check`` on up to ``examples`` generated values within ``seconds``, shrinking included,
    and shrinking within ``shrink_seconds`` of the first failure (when given).

    Once the budget is spent, every further call returns at once, except for a value seen
    failing before (hypothesis replays the smallest failure to report it, and a replay that
    passed would read as a flaky test). A failure propagates as ``check`` raised it.
    """
    run = run or BoundedRun(SearchBudget(seconds, shrink_seconds))
    failing: set[str] = set()

    @settings(max_examples=examples, deadline=None, database=None, phases=_PHASES,
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def search(value: Any) -> None:
        if repr(value) not in failing and run.budget.spent():
            return
        run.examples.append(value)
        try:
            check(value)
        except BaseException:
            failing.add(repr(value))
            run.budget.failed()
            raise

    search()
    return run
