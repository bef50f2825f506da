"""The probe's judgements on figures measured against the reference and its known-bad variants
(``scenarios/load/test_load_queries.py`` attaches them; these are from one ``tests/test_bite.py
-k load`` run, bite profile: large tenant 200 items, small ones 20): each rule passes the reference's figures and fails the
mistake it is for.
"""

from __future__ import annotations

from harness.load.probe import Capacity, ListProbe
from harness.load.request_cost import capacity_problems, growth_problems

OK = (200,) * 5


def _probe(klass: str, limit: int, statements: float, rows: float, blocks: float,
           statuses: tuple[int, ...] = OK) -> ListProbe:
    return ListProbe(klass, limit, len(statuses), statuses, statements, rows, blocks)


REFERENCE = (_probe("large", 5, 3, 8, 6), _probe("large", 50, 3, 53, 6), _probe("small", 5, 3, 8, 5))
N_PLUS_ONE = (_probe("large", 5, 8, 13, 33.4), _probe("large", 50, 53, 103, 256), _probe("small", 5, 8, 13, 20))
FETCH_ALL = (_probe("large", 5, 3, 202, 10), _probe("large", 50, 3, 202, 10), _probe("small", 5, 3, 22, 6))
LOST_INDEX = (_probe("large", 5, 3, 8, 28.2), _probe("large", 50, 3, 53, 27), _probe("small", 5, 3, 8, 5))


def test_the_reference_figures_pass_every_rule():
    assert growth_problems(REFERENCE) == []


def test_statements_growing_with_the_page_are_an_n_plus_one():
    problems = growth_problems(N_PLUS_ONE)
    assert [title for title, _ in problems] == ["statements per request vs page size"]
    assert "N+1" in problems[0][1]


def test_rows_growing_with_the_tenant_are_fetch_all_paging():
    problems = growth_problems(FETCH_ALL)
    assert [title for title, _ in problems] == ["rows returned per request vs tenant size"]


def test_a_lost_sort_index_costs_the_same_statements_and_rows_its_plan_tells():
    # the same statements and rows: only the page's plan (test_plans.py) sees the Sort
    assert growth_problems(LOST_INDEX) == []


def test_an_error_answer_is_a_problem_not_a_smaller_cost():
    failing = (_probe("large", 5, 0, 0, 0, (500,) * 5), *REFERENCE[1:])
    assert any("not 200" in text for _, text in growth_problems(failing))


def test_a_pool_smaller_than_the_profile_fails_and_one_as_large_passes():
    starved = Capacity(sent=6, in_database=2, statuses=(200,) * 6, held_s=1.6, timeline=((0.0, 0), (1.6, 2)))
    held = Capacity(sent=6, in_database=6, statuses=(200,) * 6, held_s=0.54, timeline=((0.0, 0), (0.54, 6)))
    assert [t for t, _ in capacity_problems(starved, 6)] == ["requests in the database at once"]
    assert capacity_problems(held, 6) == []
    timed_out = Capacity(sent=6, in_database=6, statuses=(200,) * 4 + (503, 503), held_s=3.0, timeline=())
    assert [t for t, _ in capacity_problems(timed_out, 6)] == ["simultaneous list requests"]
