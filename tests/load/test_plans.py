"""The plan judge on plans PostgreSQL 18 wrote (``data/plans``: the generic plan of the statement
that returned the list page, as the app role, from one ``tests/test_bite.py -k load`` run).

The reference reads the page through ``work_items_created_idx`` backwards under its LIMIT (and
renders it as one row of JSON above that: ``reference.json`` was taken again when it began to);
the lost sort index sorts the tenant's rows under the LIMIT; fetch-all paging has no LIMIT at all;
the N+1's page statement (the ids) is still a well-served page: its fault is elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from harness.load.plans import judge_plan, page_plan

PLANS = Path(__file__).parent / "data" / "plans"


def _plan(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))["plan"]


@pytest.mark.parametrize("name", ["reference", "n-plus-one"])
def test_a_limit_over_an_ordered_index_scan_on_the_tenant_column_passes(name):
    verdict = judge_plan(_plan(name), "work_items", "workspace_id")
    assert verdict.passed, verdict.problems
    assert verdict.limited


def test_the_reference_reads_backwards_through_its_sort_index():
    assert judge_plan(_plan("reference"), "work_items", "workspace_id").scan == \
        "Index Scan Backward using work_items_created_idx on work_items"


def test_a_sort_between_the_limit_and_the_scan_fails():
    verdict = judge_plan(_plan("lost-sort-index"), "work_items", "workspace_id")
    assert not verdict.limited
    assert len(verdict.problems) == 1 and "Sort on (" in verdict.problems[0]


def test_a_scan_with_no_limit_over_it_fails():
    verdict = judge_plan(_plan("fetch-all-paging"), "work_items", "workspace_id")
    assert not verdict.limited
    assert len(verdict.problems) == 1 and "no Limit" in verdict.problems[0]


def test_an_index_condition_without_the_tenant_column_fails():
    verdict = judge_plan(_plan("reference"), "work_items", "tenant_id")
    assert any("does not name tenant_id" in p for p in verdict.problems)


def test_a_sequential_scan_fails_and_a_plan_of_another_table_is_not_the_list():
    plan = {"Node Type": "Limit", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "work_items"}]}
    assert any("Seq Scan on work_items" in p for p in judge_plan(plan, "work_items", "workspace_id").problems)
    other = {"Node Type": "Limit", "Plans": [{"Node Type": "Index Scan", "Relation Name": "api_tokens",
                                              "Index Cond": "(workspace_id = $1)"}]}
    assert "not the list query" in judge_plan(other, "work_items", "workspace_id").problems[0]


LOOKUP = {"Node Type": "Nested Loop", "Plans": [
    {"Node Type": "Index Scan", "Relation Name": "api_tokens", "Index Cond": "(workspace_id = $2)"},
    {"Node Type": "Index Scan", "Relation Name": "memberships", "Index Cond": "(workspace_id = $2)"}]}


def test_the_page_statement_is_the_one_whose_plan_reads_the_table_not_the_most_rows():
    """The reference returns its page as one row, as its token lookup does: the page's statement
    is found by its plan, whatever the order the rows per call put them in."""
    plans = {"lookup": LOOKUP, "bind": {"Node Type": "Result"}, "page": _plan("reference")}
    plan, statement, why = page_plan(["lookup", "bind", "page"], plans.__getitem__, "work_items")
    assert (statement, why) == ("page", None) and judge_plan(plan, "work_items", "workspace_id").passed


def test_no_statement_reading_the_table_or_none_planned_is_said_so():
    def refuse(statement: str) -> dict:
        raise psycopg.errors.UndefinedParameter(f"could not determine data type of parameter $1 ({statement})")

    assert "none of the 2 statements" in page_plan(["a", "b"], lambda _: LOOKUP, "work_items")[2]
    assert page_plan(["a"], refuse, "work_items")[2].startswith("no generic plan of 'a': could not")
    assert page_plan([], refuse, "work_items")[2].startswith("the list requests ran no statement")
