"""basejump's S00 verdicts match its ground truth (fixtures/targets/basejump/ground_truth.sql,
plain SQL probes written apart from the suites) item by item: every tenant-convention and
index-baseline finding is a fact the probes confirm, and every fact a probe finds is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import migrations
from harness.migrations.sql_folder import split_statements
from harness.standards.lints import index_baseline_findings, tenant_column_findings
from harness.target import load_target

pytestmark = pytest.mark.slow

BASEJUMP = Path(__file__).resolve().parents[2] / "fixtures" / "targets" / "basejump"


def test_s00_findings_are_exactly_the_ground_truth(harness_run):
    spec = load_target(BASEJUMP / "target.yaml")
    db = harness_run.create_empty("basejump-truth")
    try:
        migrations.upgrade(spec, db.owner)
        with db.connect_owner(autocommit=True) as conn:
            truth = [row for statement in split_statements((BASEJUMP / "ground_truth.sql").read_text())
                     for row in conn.execute(statement).fetchall()]
            convention = tenant_column_findings(conn, spec)
            baseline = index_baseline_findings(conn, spec)
    finally:
        harness_run.drop(db)
    probe = {(p, s) for p, s, _ in truth}
    assert {(f.subject, f.check) for f in convention} == {
        (s, "rls-keyed-on-tenant") for p, s in probe if p == "rls-not-forced"}
    assert sorted(f.subject for f in baseline if f.check == "foreign-key-index") == sorted(
        s for p, s, _ in truth if p == "fk-without-index")
    assert {f.subject for f in baseline if f.check == "tenant-access-path"} == {
        s for p, s in probe if p == "no-tenant-access-path"}
    assert len(truth) == len(convention) + len(baseline) == 18
