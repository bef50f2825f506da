"""The tenant isolation suite's search profile: how many generated examples, and for how long.

Profiles live in ``fixtures/tenant_isolation/profiles.yaml``; ``HARNESS_ISOLATION_PROFILE``
picks one by name (default ``default``). :class:`SearchBudget` bounds a property test as a
whole, shrinking included: hypothesis has no wall-clock limit of its own, so once the budget is
spent every further call returns at once (generation stops finding anything new, and shrinking
stops at the smallest failure found so far).
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
# nor shrinks a failure; on a known-bad target they spent the whole time budget
_PHASES = tuple(p for p in Phase if p is not Phase.explain)


@dataclass(frozen=True)
class IsolationProfile:
    name: str = "default"
    property_examples: int = 25
    property_budget_s: float = 60.0


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
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 1:
        raise ConfigError(where, f"{name}.property_examples", f"is {examples!r}", "write a positive integer")
    if not isinstance(budget, (int, float)) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(where, f"{name}.property_budget_s", f"is {budget!r}", "write seconds, e.g. 60")
    return IsolationProfile(name, examples, float(budget))


@dataclass
class SearchBudget:
    """Wall-clock budget of one property test; ``spent()`` once it is over."""

    seconds: float
    started: float = field(default_factory=time.monotonic)
    skipped: int = 0      # calls that returned at once because the budget was spent

    def spent(self) -> bool:
        over = time.monotonic() - self.started > self.seconds
        self.skipped += over
        return over


@dataclass
class BoundedRun:
    """What a bounded search did: the examples checked, and the calls after the budget."""

    budget: SearchBudget
    examples: list[Any] = field(default_factory=list)


def bounded_search(strategy: SearchStrategy, check: Callable[[Any], None], *, examples: int,
                   seconds: float, run: BoundedRun | None = None) -> BoundedRun:
    """Runs ``check`` on up to ``examples`` generated values within ``seconds``, shrinking included.

    Once the budget is spent, every further call returns at once, except for a value seen
    failing before (hypothesis replays the smallest failure to report it, and a replay that
    passed would read as a flaky test). A failure propagates as ``check`` raised it.
    """
    run = run or BoundedRun(SearchBudget(seconds))
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
            raise

    search()
    return run
