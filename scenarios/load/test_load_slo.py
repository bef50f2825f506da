"""Load SLOs: every endpoint threshold of the profile, fairness between tenant classes, the
plans of the hottest queries, the instrumentation the SLOs are computed from, and how many
requests the API holds in the database at once (measured before the load).

One locust run per module (``conftest.py``); each test judges one property of it and records
the measured values as metrics, compared with the profile's thresholds and, when
``HARNESS_LOAD_BASELINE`` names the previous packet, with the last release.
"""

from __future__ import annotations

import pytest

from harness import data as harness_data
from harness.evidence import attach_json, attach_text, record_metric
from harness.load import LoadFailure, evaluate_endpoint, evaluate_fairness, load_profile
from harness.load.plots import endpoint_percentiles_svg, percentiles_over_time_svg
from harness.load.request_cost import capacity_problems
from harness.load.thresholds import Verdict, regression

# judged by time or load: runs after the parallel part, with nothing else running
pytestmark = pytest.mark.alone

PROFILE = load_profile(harness_data.path("loadtests/slo.yaml"))
LIST = "GET /v1/work-items"
FILTER = "GET /v1/work-items?status"


def _judge(verdicts: list[Verdict], evidence, what: str) -> None:
    __tracebackhide__ = True
    failed = []
    for verdict in verdicts:
        if verdict.measured is not None:
            record_metric(verdict.metric_name, verdict.measured,
                          "ms" if verdict.metric.endswith("_ms") else
                          "req/s" if verdict.metric == "rps" else "ratio",
                          threshold=verdict.threshold, comparison=verdict.comparison)
        reason = None if verdict.passed else verdict.reason
        regressed = regression(verdict, evidence.baseline.get(verdict.metric_name),
                               evidence.profile.baseline_tolerance)
        for problem in (reason, regressed):
            if problem:
                failed.append((verdict.metric_name, problem))
    attach_json([v.__dict__ for v in verdicts], "thresholds")
    if failed:
        raise LoadFailure(f"{what}: {len(failed)} threshold(s) missed", failed)


@pytest.mark.slow
@pytest.mark.evidence("S11.load-slo", story="F8-E2-S1")
@pytest.mark.evidence("S04.query-performance-baseline", story="F3-E1-S1")
@pytest.mark.parametrize("endpoint", [e.name for e in PROFILE.endpoints])
def test_endpoint_keeps_its_latency_error_and_throughput_slo(load_evidence, endpoint):
    """Under the profile's load, the endpoint's p50/p95/p99 stay under their ceilings, its error
    ratio under the maximum and its throughput over the minimum; zero requests is a failure."""
    slo = load_evidence.profile.endpoint(endpoint)
    assert slo is not None, f"{endpoint} is not in the {load_evidence.profile.name} profile"
    _judge(evaluate_endpoint(load_evidence.run.stats, slo), load_evidence, endpoint)


@pytest.mark.slow
@pytest.mark.evidence("S11.load-slo", story="F8-E2-S2")
def test_small_tenants_keep_their_p95_while_large_ones_saturate(load_evidence):
    """Noisy neighbours: the small tenants' list p95 stays under the fairness ceiling while the
    large tenants' users hammer the API without pause."""
    stats = load_evidence.run.stats
    attach_json({"large": stats.endpoint(LIST, "large").requests,
                 "small": stats.endpoint(LIST, "small").requests}, "list requests per tenant class")
    verdict = evaluate_fairness(stats, load_evidence.profile, LIST)
    if verdict is None:
        raise LoadFailure(f"profile {load_evidence.profile.name} has no fairness threshold",
                          [("fix", "set fairness: {small_tenant_p95_ms: ...} in loadtests/slo.yaml")])
    _judge([verdict], load_evidence, "fairness")


@pytest.mark.slow
@pytest.mark.evidence("S05.query-latency", story="F3-E3-S1")
def test_filter_sort_and_page_queries_meet_latency_and_use_their_indexes(load_evidence):
    """The list and filter endpoints keep their p95, and the generic plans of the hottest work
    item queries (as the app role, RLS quals included) scan no tenant table sequentially."""
    profile, stats = load_evidence.profile, load_evidence.run.stats
    verdicts = [v for name in (LIST, FILTER) if profile.endpoint(name)
                for v in evaluate_endpoint(stats, profile.endpoint(name)) if v.metric == "p95_ms"]
    attach_json(load_evidence.statements, "pg_stat_statements: top statements by total time")
    for query, plan in load_evidence.plans.items():
        attach_text(f"{query}\n\n{plan}", "plan: " + query[:60])
    problems = []
    if load_evidence.statements_unavailable:
        problems.append(("pg_stat_statements", f"not available: {load_evidence.statements_unavailable}; "
                         "preload it (shared_preload_libraries) to judge the plans"))
    work_item_plans = {q: p for q, p in load_evidence.plans.items() if "work_items" in q}
    if not load_evidence.statements_unavailable and not work_item_plans:
        problems.append(("plans", "no work item query among the hottest statements"))
    for query, plan in work_item_plans.items():
        if "Seq Scan on work_items" in plan:
            problems.append((query[:80], f"sequential scan of work_items:\n{plan}"))
    try:
        _judge(verdicts, load_evidence, "list and filter latency")
    except LoadFailure as failure:
        problems += failure.context
    if problems:
        raise LoadFailure(f"query latency and plans: {len(problems)} problem(s)", problems)


@pytest.mark.slow
@pytest.mark.evidence("S11.slo-instrumentation", story="F8-E2-S3")
def test_the_measurements_slos_are_computed_from_exist_and_move_under_load(load_evidence):
    """The client-side latency histogram, the database's transaction and statement counters and
    the work item table's scan and write counters all exist and moved while load was applied."""
    before, after, run = load_evidence.before, load_evidence.after, load_evidence.run
    attach_text(load_evidence.locust_json, "locust stats (json)")
    for svg, name in ((percentiles_over_time_svg(run.stats, f"{load_evidence.profile.name}: latency over time"),
                       "plot: latency percentiles over time"),
                      (endpoint_percentiles_svg(run.stats, load_evidence.profile), "plot: latency per endpoint")):
        if svg is not None:
            import allure

            allure.attach(svg, name=name, attachment_type=allure.attachment_type.SVG)
    record_metric("generator_cpu_share", run.generator_cpu_share, "cores")
    # how long the load ran and why it stopped (stable percentiles, or the profile's cap)
    attach_json({"wall_s": round(run.wall_s, 1), "requests_sent_for_s": round(run.stats.duration_s, 1),
                 "cap_s": load_evidence.profile.duration_s, "stopped": run.stopped}, "load phase")
    record_metric("requests", run.stats.total_requests(), "requests", threshold=1, comparison=">=")
    problems = []
    if run.stats.total_requests() == 0 or not run.stats.history:
        problems.append(("client", "locust measured no request or wrote no history"))
    if after.commits <= before.commits:
        problems.append(("pg_stat_database", f"xact_commit did not move ({before.commits} -> {after.commits})"))
    if load_evidence.statements_unavailable:
        problems.append(("pg_stat_statements", load_evidence.statements_unavailable))
    elif (after.statements or 0) <= (before.statements or 0):
        problems.append(("pg_stat_statements", f"calls did not move ({before.statements} -> {after.statements})"))
    table = next((t for t in after.tables if t.endswith(".work_items")), None)
    if table is None:
        problems.append(("pg_stat_user_tables", "no counters for work_items"))
    else:
        moved = {k: after.tables[table][k] - before.tables.get(table, {}).get(k, 0) for k in after.tables[table]}
        attach_json(moved, f"{table} counters moved by")
        if moved["idx_scan"] + moved["seq_scan"] <= 0 or moved["n_tup_ins"] <= 0:
            problems.append(("pg_stat_user_tables", f"{table} counters did not move: {moved}"))
    if problems:
        raise LoadFailure(f"instrumentation: {len(problems)} measurement(s) missing or still", problems)

@pytest.mark.slow
@pytest.mark.evidence("S11.load-slo", story="F8-E2-S1")
def test_the_api_holds_the_profiles_concurrent_requests_in_the_database(load_capacity):
    """Simultaneous list requests all reach the database together, as many as the profile's
    ``concurrent_requests``: a connection pool smaller than the load makes the rest queue in the
    API, where no query plan or latency of a single request shows it."""
    profile, capacity = load_capacity.profile, load_capacity.capacity
    if load_capacity.error:
        raise LoadFailure("simultaneous requests could not be counted",
                          [("probe", load_capacity.error)])
    if profile.concurrent_requests is None or capacity is None:
        raise LoadFailure(f"profile {profile.name} does not say how many requests must reach the database at once",
                          [("fix", "set concurrent_requests: N in the profile (loadtests/slo.yaml)")])
    attach_json({"sent": capacity.sent, "in the database at once": capacity.in_database,
                 "statuses": list(capacity.statuses), "lock held s": capacity.held_s,
                 "timeline (s, backends waiting)": [list(t) for t in capacity.timeline]},
                "simultaneous list requests held on a lock")
    record_metric(f"{LIST} requests in the database at once", capacity.in_database, "requests",
                  threshold=profile.concurrent_requests, comparison=">=")
    problems = capacity_problems(capacity, profile.concurrent_requests)
    if problems:
        raise LoadFailure(f"the API starves its requests of connections: {len(problems)} problem(s)", problems)
