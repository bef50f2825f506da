"""S00.event-envelope-contract: the catalog pins the envelope, and stored events keep it."""

from __future__ import annotations

import pytest

from harness.evidence import attach_json
from harness.replay.capability import EnvelopeRejected
from harness.replay.contracts import ENVELOPE_FIELDS, envelope_findings
from harness.replay.failures import ReplayFailure, as_json
from harness.replay.streams import envelope

ITEM = "S00.event-envelope-contract"
KEPT = ("event_id", "event_type", "workspace_id", "correlation_id", "version")


@pytest.mark.evidence(ITEM)
def test_every_event_schema_requires_and_pins_the_envelope(events):
    """Every schema of every event type requires all envelope fields and pins its type and version."""
    catalog = events.event_schemas()
    attach_json({t: sorted(v) for t, v in catalog.items()}, "event catalog (type -> versions)")
    findings = envelope_findings(catalog) if catalog else [("catalog", "no event schemas at all")]
    if findings:
        raise ReplayFailure(f"{len(findings)} schema(s) do not pin the envelope",
                            [(where, problem) for where, problem in findings])


@pytest.mark.evidence(ITEM)
def test_stored_events_keep_every_envelope_field(events, workspace, consumer_stream):
    """Each event the suite publishes is stored with its event_id, event_type, workspace_id,
    correlation_id and version intact."""
    published = [envelope(workspace, t) for t in consumer_stream]
    for event in published:
        events.publish_event(event)
    stored = {str(row["event_id"]): row for row in events.stored_events(workspace)}
    problems = {}
    for event in published:
        row = stored.get(event["event_id"])
        wrong = [f for f in KEPT if row is None or row.get(f) in (None, "") or str(row[f]) != str(event[f])]
        if wrong:
            problems[event["event_id"]] = {"fields": wrong, "stored": row}
    if problems or len(stored) != len(published):
        raise ReplayFailure("stored events lost envelope fields",
                            [("problems", as_json(problems)), ("published", as_json(published))])


@pytest.mark.evidence(ITEM)
def test_an_event_missing_any_envelope_field_is_refused(events, workspace, consumer_stream):
    """An event missing any one envelope field is refused whole: nothing is stored."""
    let_in = []
    for field in ENVELOPE_FIELDS:
        event = envelope(workspace, consumer_stream[0])
        del event[field]
        try:
            events.publish_event(event)
            let_in.append(field)
        except EnvelopeRejected:
            pass
    stored = events.stored_events(workspace)
    if let_in or stored:
        raise ReplayFailure(f"events without {let_in} were accepted" if let_in else
                            "a refused event was stored anyway", [("rows", as_json(stored))])
