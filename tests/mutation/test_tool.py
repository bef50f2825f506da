"""The mutation tool end to end, on two known mutants of the standards family (its suite is the
quickest): an analytics event key reduced to its workspace (one event per workspace) is killed,
the key reduced to its generated `event_id` alone (still unique: no behaviour the standards
judge changes) survives and is listed as a survivor, and the report a reviewer reads is written
with the family's score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "benchmarks" / "mutation" / "run.py"
ONE_EVENT_PER_WORKSPACE = "conflict-column-19f816e8"
KEY_WITHOUT_WORKSPACE = "conflict-column-6aa5ba03"

pytestmark = pytest.mark.slow


def test_the_mutants_are_listed_where_they_edit():
    listed = subprocess.run([sys.executable, str(TOOL), "--list", "--family", "standards"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    killed = next(x for x in listed.splitlines() if ONE_EVENT_PER_WORKSPACE in x)
    assert "0005_identity_analytics.py" in killed and "-> 'workspace_id'" in killed
    survivor = next(x for x in listed.splitlines() if KEY_WITHOUT_WORKSPACE in x)
    assert "-> 'event_id'" in survivor and "equivalent" not in survivor


def test_a_planted_mutant_is_killed_and_a_survivor_reported(tmp_path):
    done = subprocess.run([sys.executable, str(TOOL), "--family", "standards", "--mutant",
                           ONE_EVENT_PER_WORKSPACE, "--mutant", KEY_WITHOUT_WORKSPACE, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    family = report["families"][0]
    assert family["family"] == "standards" and family["mutants_run"] == 2
    assert all(s == "met" for s in family["clean_reference"].values()), family["clean_reference"]
    verdicts = {o["mutant"]: o["verdict"] for o in family["outcomes"]}
    assert verdicts == {ONE_EVENT_PER_WORKSPACE: "killed", KEY_WITHOUT_WORKSPACE: "survived"}, family["outcomes"]
    assert family["score"] == 0.5 and all(o["seconds"] > 0 for o in family["outcomes"])
    markdown = (tmp_path / "report.md").read_text()
    assert "| standards | S00 S01 S02 S10 | 50% |" in markdown
    survivors = markdown[markdown.index("Survivors (1):"):markdown.index("Killed:")]
    assert KEY_WITHOUT_WORKSPACE in survivors and ONE_EVENT_PER_WORKSPACE not in survivors
