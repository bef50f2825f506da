"""The compatibility checker rejects every breaking change in the fixtures and accepts the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.replay.contracts import (
    compatibility_findings,
    envelope_findings,
    incompatibilities,
    validation_errors,
)

CASES = yaml.safe_load((Path(__file__).resolve().parents[2] / "fixtures" / "replay" / "contracts"
                        / "breaking.yaml").read_text())


@pytest.mark.parametrize("case", CASES["breaking"], ids=lambda c: c["name"])
def test_a_breaking_change_is_named(case):
    problems = incompatibilities(CASES["base"], {**CASES["base"], **case["change"]})
    assert any(case["expect"] in p for p in problems), problems


@pytest.mark.parametrize("case", CASES["compatible"], ids=lambda c: c["name"])
def test_a_compatible_change_passes(case):
    assert incompatibilities(CASES["base"], {**CASES["base"], **case["change"]}) == []


def test_the_catalog_check_compares_consecutive_versions_and_finds_gaps():
    v1 = {**CASES["base"], "properties": {**CASES["base"]["properties"], "version": {"const": 1}}}
    v2 = {**v1, "required": ["event_id"], "properties": {**v1["properties"], "version": {"const": 2}}}
    findings = compatibility_findings({"thing.happened": {1: v1, 2: v2}, "gap.type": {1: v1, 3: v1}})
    assert any(w == "thing.happened v1 -> v2" and "required field removed" in p for w, p in findings)
    assert any(w == "gap.type" and "without gaps" in p for w, p in findings)
    # the version pin itself is meant to change between versions
    assert not any("const" in p for w, p in findings if w.startswith("thing.happened"))


def test_the_envelope_check_wants_every_field_required_and_pinned():
    findings = envelope_findings({"a.b": {1: {"required": ["event_id"], "properties": {}}}})
    assert [p for _, p in findings][0].startswith("envelope fields not required")
    assert len(findings) == 3


def test_validation_reports_each_error_with_its_path():
    errors = validation_errors(CASES["base"], {"event_id": 3, "payload": {"status": "x"}})
    assert any(e.startswith("event_id:") for e in errors)
    assert any(e.startswith("payload/status:") for e in errors)
    assert any("amount" in e for e in errors)
