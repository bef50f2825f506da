"""What list requests cost the database, judged by behaviour: statements and rows per request
against the page and tenant size, and the plan of the statement that returned the page.

The figures come from the module's probe (``conftest.py``, :mod:`harness.load.probe`): serial
list requests of the largest and a small tenant at two page sizes, counted by
``pg_stat_statements`` for this database and the app role only. Counts, rows and a plan, no
time: the module runs beside other tests (how many requests reach the database at once is
judged in ``test_load_slo.py``, before its load).
"""

from __future__ import annotations

import json

import pytest

from harness.evidence import attach_json, attach_text, record_metric
from harness.load import LoadFailure
from harness.load.plans import judge_plan
from harness.load.request_cost import growth_problems

LIST = "GET /v1/work-items"


def _figures(evidence) -> list[dict]:
    rows = [{"probe": p.label, "requests": p.requests, "statuses": list(p.statuses),
             "statements_per_request": p.statements_per_request, "rows_per_request": p.rows_per_request,
             "shared_buffers_per_request": p.blocks_per_request, "statements": list(p.statements)}
            for p in evidence.probes]
    attach_json(rows, "list probe: statements, rows and buffers per request")
    return rows


def _require_statements(evidence) -> None:
    __tracebackhide__ = True
    if evidence.statements_unavailable:
        raise LoadFailure("statements per request cannot be counted",
                          [("pg_stat_statements", f"not available: {evidence.statements_unavailable}; "
                            "preload it (shared_preload_libraries) so each request's statements are counted")])
    if not evidence.probes:
        raise LoadFailure("the list probe measured nothing", [("probe", "no list request was probed")])


@pytest.mark.slow
@pytest.mark.evidence("S04.query-performance-baseline", story="F3-E1-S1")
def test_a_list_request_runs_the_same_statements_at_any_page_or_tenant_size(probe_evidence):
    """A list request's statements do not grow with the page size (no statement per row: N+1),
    and neither its statements nor the rows they return grow with the tenant's size at the same
    page (the page is cut in the database, not after fetching the tenant)."""
    _require_statements(probe_evidence)
    _figures(probe_evidence)
    for probe in probe_evidence.probes:
        record_metric(f"{LIST} statements per request ({probe.label})", probe.statements_per_request,
                      "statements")
        record_metric(f"{LIST} rows returned per request ({probe.label})", probe.rows_per_request, "rows")
    problems = growth_problems(probe_evidence.probes)
    if problems:
        raise LoadFailure(f"list request cost grows with the data: {len(problems)} problem(s)", problems)


@pytest.mark.slow
@pytest.mark.evidence("S05.query-latency", story="F3-E3-S1")
def test_the_list_page_is_read_through_an_index_that_serves_filter_and_order(probe_evidence, harness_target):
    """The statement that read the list page (of a list request's statements, the one whose plan
    reads the table; the most rows per call first), planned as the app role for the largest
    tenant, reads the table through an index whose condition names the tenant column, with the
    LIMIT directly over that ordered scan (no Sort of the tenant's rows, no fetch-all). The
    shared buffers each probe's requests touched are recorded beside it."""
    _require_statements(probe_evidence)
    _figures(probe_evidence)
    problems = []
    if probe_evidence.list_plan is None:
        problems.append(("plan", probe_evidence.list_plan_error or "no plan was taken"))
    else:
        attach_text(f"{probe_evidence.list_statement}\n\n{json.dumps(probe_evidence.list_plan, indent=2)}",
                    "plan of the list page's statement (generic, JSON)")
        verdict = judge_plan(probe_evidence.list_plan, "work_items", harness_target.tenancy.column)
        attach_json({"scan": verdict.scan, "limit directly over the scan": verdict.limited,
                     "problems": list(verdict.problems)}, "plan verdict")
        problems += [("plan", p) for p in verdict.problems]
    for probe in probe_evidence.probes:
        record_metric(f"{LIST} shared buffers per request ({probe.label})", probe.blocks_per_request, "buffers")
    if problems:
        raise LoadFailure(f"the list page is not read through its index: {len(problems)} problem(s)",
                          problems)

