"""The evidence marker becomes Allure labels, read back from real allure-results files."""

from __future__ import annotations

import json

import pytest

from harness.evidence import parse_claim

from .conftest import run_pytest

TESTS = '''
import pytest

@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")
def test_tenant_negative():
    assert True

@pytest.mark.evidence("S00.risk-register")
def test_no_story():
    assert True
'''


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_marker_becomes_allure_labels(pytester_dir):
    (pytester_dir / "test_marked.py").write_text(TESTS)
    results = pytester_dir / "allure-results"
    out = run_pytest(pytester_dir, "--alluredir", str(results), "-q")
    assert out.returncode == 0, out.stdout + out.stderr
    by_name = {}
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        by_name[data["name"]] = {(lab["name"], lab["value"]) for lab in data["labels"]}
    assert {("evidence", "S03.cross-tenant-negatives"), ("gate", "S03"), ("epic", "F2"),
            ("feature", "F2-E3"), ("story", "F2-E3-S1")} <= by_name["test_tenant_negative"]
    assert {("evidence", "S00.risk-register"), ("gate", "S00")} <= by_name["test_no_story"]
    assert not any(name == "story" for name, _ in by_name["test_no_story"])
    provenance = json.loads((results / "harness-provenance.json").read_text())
    assert provenance["target"] == "reference" and provenance["alembic_heads"]


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_gate_option_selects_by_evidence(pytester_dir):
    (pytester_dir / "test_marked.py").write_text(TESTS)
    out = run_pytest(pytester_dir, "--harness-gate", "S00", "-q")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 1 deselected" in out.stdout


@pytest.mark.slow   # over 10 s in the fast loop (a pytest or gate run of its own, or a time budget)
def test_malformed_marker_fails_collection(pytester_dir):
    (pytester_dir / "test_bad.py").write_text(
        'import pytest\n\n@pytest.mark.evidence("tenant-stuff", story="F2")\ndef test_x():\n    pass\n')
    out = run_pytest(pytester_dir, "-q")
    assert out.returncode != 0
    assert "not shaped S<nn>.<slug>" in out.stdout + out.stderr


@pytest.mark.parametrize(("args", "kwargs", "says"), [
    (("S03.ok",), {"story": "F2-E3"}, "not shaped F<n>-E<n>-S<n>"),
    ((), {}, "takes one item id"),
    (("S03.ok",), {"gate": "S03"}, "unknown argument"),
])
def test_parse_claim_rejects(args, kwargs, says):
    with pytest.raises(ValueError, match=says):
        parse_claim(args, kwargs, "t.py::test")
