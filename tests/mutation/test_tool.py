"""The mutation tool end to end, on one known mutant: the consume's quota condition dropped from
its UPDATE (grants above the quota) is killed by the counter suite, and the report a reviewer
reads is written with the family's score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "benchmarks" / "mutation" / "run.py"
QUOTA_CONDITION_DROPPED = "drop-conjunct-9fc5a505"

pytestmark = pytest.mark.slow


def test_the_mutant_is_listed_where_the_quota_is_checked():
    listed = subprocess.run([sys.executable, str(TOOL), "--list", "--family", "counters"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    line = next(x for x in listed.splitlines() if QUOTA_CONDITION_DROPPED in x)
    assert "0004_entitlements.py" in line and "u.used + p_amount <= u.quota + u.grace" in line


def test_a_known_mutant_is_killed_and_the_report_written(tmp_path):
    done = subprocess.run([sys.executable, str(TOOL), "--family", "counters", "--mutant",
                           QUOTA_CONDITION_DROPPED, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    family = report["families"][0]
    assert family["family"] == "counters" and family["mutants_run"] == 1
    assert family["outcomes"][0]["verdict"] == "killed", family["outcomes"]
    assert "S10.entitlement-counter-accuracy failed" in family["outcomes"][0]["reason"]
    assert family["score"] == 1.0
    markdown = (tmp_path / "report.md").read_text()
    assert "| counters | S10 | 100% |" in markdown and QUOTA_CONDITION_DROPPED in markdown
