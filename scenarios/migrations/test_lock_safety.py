"""S04.migration-lock-safety: no migration blocks tenant traffic past the lock budget.

Two angles: squawk's static rules over each revision's SQL (heavy locks and table rewrites, with
configured exceptions), and the live-load rehearsal: every step at the profile's volume while a
tenant workload runs, with the longest stall judged against the lock budget.
"""

from __future__ import annotations

import allure
import pytest

from harness.evidence import attach_json
from harness.rehearsal import lint_chain, require_no_findings, timeline_png


@pytest.mark.evidence("S04.migration-lock-safety", story="F3-E1-S1")
def test_no_revision_runs_a_statement_that_takes_a_heavy_lock(migration_tool, rehearsal_config):
    """squawk finds no lock or rewrite rule hit in any revision's upgrade SQL, except the
    configured exceptions, each with its reason."""
    report = lint_chain(migration_tool, rehearsal_config)
    attach_json({"findings": [h.as_dict() for h in report.findings],
                 "allowed": [h.as_dict() for h in report.allowed],
                 "advice": [h.as_dict() for h in report.advice],
                 "not linted": list(report.unlinted)}, "squawk report")
    require_no_findings(report.as_findings(), "squawk lock rules")


# judged by time under load, and shares the live rehearsal with the release window's test
@pytest.mark.alone
@pytest.mark.evidence("S04.migration-lock-safety", story="F3-E1-S1")
def test_no_step_stalls_tenant_traffic_past_the_lock_budget(live_rehearsal, harness_target):
    """Under a background tenant workload at the profile's volume, no upgrade or downgrade
    blocks the workload longer than the lock budget."""
    report = live_rehearsal
    attach_json({"profile": report.profile, "lock budget s": report.budget_s,
                 "rows seeded": report.rows_seeded, "operations": len(report.operations),
                 "failed operations (tables dropped by a step)": sum(not o.ok for o in report.operations),
                 "steps": [s.as_dict() for s in report.steps]}, "live-load steps")
    allure.attach(timeline_png(report, f"{harness_target.name}: live-load rehearsal "
                                       f"({report.profile} profile)"),
                  name="lock timeline", attachment_type=allure.attachment_type.PNG)
    if not report.operations:
        pytest.fail("the workload ran no operation: the rehearsal measured nothing")
    require_no_findings(report.findings(), "lock budget under live load")
