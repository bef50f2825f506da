"""Fixtures for the gate and packet tests: a small catalog, result directories, a target."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.gates.catalog import Catalog, load_catalog
from tests.gates.result_files import ResultFiles

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-Pa55word-do-not-leak"

SMALL_CATALOG = """\
version: 1
gates:
  - id: S03
    name: Tenant isolation gate
    objective: Complete row-level security.
    stories: [F2-E3-S1, F2-E3-S2]
    items:
      - id: S03.cross-tenant-negatives
        kind: test
        waivable: false
        stories: [F2-E3-S1]
        proves: No query crosses workspaces.
      - id: S03.audit-trail
        kind: test
        min_tests: 2
        stories: [F2-E3-S2]
        proves: Every change is audited.
      - id: S03.query-latency
        kind: slo
        proves: Queries are fast enough.
        thresholds:
          - {metric: p95_ms, comparison: "<=", value: 200, unit: ms}
      - id: S03.risk-register
        kind: document
        check: risk-register
        path: risks.yaml
        proves: Risks are owned and dated.
  - id: S04
    name: Core workflow gate
    objective: Domain invariants.
    stories: [F3-E1-S1]
    items:
      - id: S04.domain-invariants
        kind: test
        proves: Invalid rows are rejected.
"""

RISKS = """\
risks:
  - {id: R-01, title: Tenant leak, owner: Security, due: 2027-01-31, status: open}
  - {id: R-02, title: Old risk, owner: Data, due: 2026-01-31, status: closed}
"""

MIGRATION = '''\
"""add a table

Rollback: drops the table and its rows.
"""
revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE t (id int)")


def downgrade():
    op.execute("DROP TABLE t")
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def repo_catalog() -> Catalog:
    return load_catalog(REPO / "gates.yaml")


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    return write(tmp_path / "gates.yaml", SMALL_CATALOG)


@pytest.fixture
def catalog(catalog_file: Path) -> Catalog:
    return load_catalog(catalog_file)


@pytest.fixture
def results(tmp_path: Path) -> ResultFiles:
    return ResultFiles(tmp_path / "allure-results")


@pytest.fixture
def target_root(tmp_path: Path) -> Path:
    """A target repository: a risk register, one migration, and a spec with a DSN password."""
    root = tmp_path / "target"
    write(root / "risks.yaml", RISKS)
    write(root / "migrations" / "env.py", "# alembic env\n")
    write(root / "migrations" / "versions" / "0001_table.py", MIGRATION)
    write(root / "target.yaml", f"""\
        name: secretive
        database:
          backend: dsn
          dsn: postgresql://owner:{SECRET}@db.example.internal:5432/app
        migrations:
          script_location: migrations
        app_role: app_user
        """)
    return root


@pytest.fixture
def target(target_root: Path, monkeypatch: pytest.MonkeyPatch):
    from harness.target import load_target

    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    return load_target(target_root / "target.yaml")


SCENARIO = '''\
import json, os, pathlib
import allure, pytest


@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
def test_no_cross_tenant_read():
    allure.attach("SELECT * FROM notes  -- as workspace B: 0 rows", name="sql",
                  attachment_type=allure.attachment_type.TEXT)


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_audit_row_written():
    assert 1 == 2, "no audit row for the role change"


@pytest.mark.evidence("S03.audit-trail", story="F2-E3-S2")
def test_audit_needs_adapter():
    pytest.skip("target has no adapter")


@pytest.mark.evidence("S03.query-latency")
def test_query_latency():
    metric = {"name": "p95_ms", "value": 120.0, "unit": "ms", "threshold": 150, "comparison": "<="}
    allure.attach(json.dumps(metric), name="metric:p95_ms", attachment_type="application/json")
    allure.dynamic.parameter("metric:p95_ms", 120.0, excluded=True)
    allure.dynamic.parameter("metric:rows", 5000, excluded=True)


@pytest.mark.evidence("S04.domain-invariants", story="F3-E1-S1")
def test_invariant_flaky():
    marker = pathlib.Path(os.environ["FLAKY_MARKER"])
    if not marker.exists():
        marker.write_text("failed once")
        raise AssertionError("lost a write on the first attempt")
'''


@pytest.fixture(scope="session")
def real_results(tmp_path_factory) -> Path:
    """Allure results from a real pytest run, then a rerun of the failed flaky test."""
    root = tmp_path_factory.mktemp("real")
    (root / "test_scenario.py").write_text(SCENARIO)
    out = root / "allure-results"
    # only the two plugins this needs: autoloading every installed plugin costs seconds
    env = {**os.environ, "FLAKY_MARKER": str(root / "flaky.marker"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "allure_pytest.plugin",
            "-p", "harness.plugin", "--alluredir", str(out),
            "--harness-target", str(root / "no-target.yaml")]
    first = subprocess.run([*base, "test_scenario.py"], cwd=root, env=env, capture_output=True, text=True)
    assert first.returncode == 1, first.stdout + first.stderr
    rerun = subprocess.run([*base, "test_scenario.py::test_invariant_flaky"], cwd=root, env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    return out
