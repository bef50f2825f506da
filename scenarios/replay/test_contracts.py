"""S01.contract-compatibility: event schemas evolve compatibly, and real payloads still validate."""

from __future__ import annotations

import json

import pytest

from harness.evidence import attach_json
from harness.replay.contracts import compatibility_findings, validation_errors
from harness.replay.failures import ReplayFailure, as_json
from scenarios.replay.data import FIXTURES

ITEM, STORY = "S01.contract-compatibility", "F1-E1-S2"


@pytest.mark.evidence(ITEM, story=STORY)
def test_each_schema_version_is_backward_compatible_with_the_one_before(events):
    """No version of any event type removes a required field, changes a type or narrows an enum."""
    catalog = events.event_schemas()
    pairs = sum(max(len(v) - 1, 0) for v in catalog.values())
    attach_json({"event types": len(catalog), "version pairs compared": pairs}, "compared")
    findings = compatibility_findings(catalog)
    if findings or not catalog:
        raise ReplayFailure(f"{len(findings)} backward-incompatible change(s) in the event catalog",
                            findings or [("catalog", "no event schemas")])


@pytest.mark.evidence(ITEM, story="F1-E1-S3")
def test_recorded_payloads_validate_against_their_version_and_every_later_one(events):
    """Recorded real payloads validate against their own schema version and every later version."""
    catalog = events.event_schemas()
    files = sorted((FIXTURES / "payloads").glob("*/*.json"))
    problems, checked = [], 0
    for path in files:
        doc = json.loads(path.read_text())
        versions = catalog.get(doc.get("event_type"), {})
        later = [v for v in sorted(versions) if v >= doc.get("version", 1)]
        if not later:
            problems.append((path.name, f"no schema for {doc.get('event_type')} v{doc.get('version')}"))
        for version in later:
            checked += 1
            for error in validation_errors(versions[version], {**doc, "version": version}):
                problems.append((f"{path.parent.name}/{path.name} as v{version}", error))
    attach_json({"payload files": len(files), "validations": checked}, "validated")
    if problems or not files:
        raise ReplayFailure(f"{len(problems)} recorded payload(s) break the contract",
                            problems or [("fixtures", "no recorded payloads found")])
    assert checked >= len(files), as_json(problems)
