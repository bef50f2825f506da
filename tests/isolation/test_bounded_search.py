"""The isolation profile and the bounded property search (no database needed)."""

from __future__ import annotations

import time

import pytest
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.isolation.profile import BoundedRun, SearchBudget, bounded_search, load_profile
from tests.bite import ROOT

PROFILES = ROOT / "fixtures" / "tenant_isolation" / "profiles.yaml"


def test_the_shipped_profiles_load():
    assert load_profile(PROFILES).property_budget_s > load_profile(PROFILES).shrink_budget_s > 0
    assert load_profile(PROFILES, "quick").property_examples <= load_profile(PROFILES).property_examples


@pytest.mark.parametrize(("body", "field"), [
    ("default: {property_examples: 0, property_budget_s: 5}", "default.property_examples"),
    ("default: {property_examples: 3, property_budget_s: never}", "default.property_budget_s"),
    ("other: {property_examples: 3, property_budget_s: 5}", "default"),
    ("default: {property_examples: 3, property_budget_s: 5, shrink_budget_s: 0}", "default.shrink_budget_s"),
])
def test_a_bad_profile_names_the_field(tmp_path, body, field):
    path = tmp_path / "profiles.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_profile(path, "default")
    assert err.value.field == field


def test_a_failing_search_stops_at_its_budget_shrinking_included():
    """Every check costs 0.2 s (a database example costs more): unbounded, hypothesis would run
    hundreds of them shrinking a failing list; bounded at 1 s, only the checks that fit in the
    budget run, plus the replay of the failure it reports (a real failure, not a flaky replay)."""
    calls = []

    def slow_check(values):
        calls.append(values)
        time.sleep(0.2)
        assert sum(values) < 50, f"sum {sum(values)}"

    with pytest.raises(AssertionError, match="sum"):
        bounded_search(st.lists(st.integers(0, 100), min_size=5), slow_check, examples=200, seconds=1.0)
    assert len(calls) <= 1.0 / 0.2 + 5, f"{len(calls)} checks ran past a 1 s budget"


def test_a_passing_search_runs_its_examples_within_the_budget():
    run = bounded_search(st.integers(), lambda v: None, examples=20, seconds=30)
    assert len(run.examples) == 20 and run.budget.skipped == 0


class _Clock:
    """Time that moves only when a check says so: the budgets judged without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_shrinking_stops_at_its_own_budget_and_the_failure_is_still_reported():
    """Each check costs 1 s of this clock. The first failure comes early; hypothesis would then
    shrink for dozens of new examples (38 checks in all without a shrink budget). With a 5 s
    shrink budget inside a 1000 s search budget, at most 6 new examples are checked after the
    first failure (replays of a failing example always run: they report it), the failure still
    propagates, and the evidence says which budget stopped it."""
    clock = _Clock()
    failing: set[str] = set()
    new_after_failure: list[list[int]] = []

    def check(values):
        if failing and repr(values) not in failing:
            new_after_failure.append(values)
        clock.now += 1.0
        if sum(values) >= 50:
            failing.add(repr(values))
            raise AssertionError(f"sum {sum(values)}")

    run = BoundedRun(SearchBudget(1000.0, 5.0, clock=clock))
    with pytest.raises(AssertionError, match="sum"):
        bounded_search(st.lists(st.integers(0, 100), min_size=5), check, examples=200,
                       seconds=1000.0, run=run)
    assert failing, "no example failed"
    # checked at 0, 1, ..., 5 s after the first failure: six at most, then none
    assert len(new_after_failure) <= 6, f"{len(new_after_failure)} new examples past a 5 s shrink budget"
    assert run.budget.stopped().startswith("shrink budget")


def test_without_a_failure_the_shrink_budget_never_stops_the_search():
    clock = _Clock()

    def check(value):
        clock.now += 1.0

    run = BoundedRun(SearchBudget(1000.0, 0.5, clock=clock))
    bounded_search(st.integers(), check, examples=20, seconds=1000.0, run=run)
    assert len(run.examples) == 20 and run.budget.stopped() == "every example ran"


def test_a_failing_search_neither_traces_nor_varies_the_failure_it_found():
    """Hypothesis's ``explain`` phase would trace every call after the first failure line by line
    (5x slower per database example here) and then re-run the shrunk failure with its parts
    varied, only to annotate the report; on a known-bad target that spent the whole budget. The
    failure is still shrunk to its smallest form and reported."""
    import sys

    traced, calls = [], []

    def check(values):
        calls.append(list(values))
        traced.append(sys.gettrace() is not None)
        assert 7 not in values, "a seven"

    with pytest.raises(AssertionError, match="a seven") as err:
        bounded_search(st.lists(st.integers(0, 10), min_size=3, max_size=8), check, examples=200,
                       seconds=60)
    assert not any(traced), f"{sum(traced)} of {len(traced)} calls ran under a tracer"
    assert "Explanation" not in str(err.value) and "or any other generated value" not in str(err.value)
    assert sorted(calls[-1]) == [0, 0, 7], calls[-1]   # the replay of the shrunk failure
