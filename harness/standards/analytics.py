"""Analytics event integrity (``S10.analytics-event-integrity``).

Analytics events (F7-E3) are judged through a small capability (``analytics``):

- every event type of the taxonomy is a valid JSON Schema (Draft 2020-12);
- events that match the taxonomy are stored, and what is stored still matches it; events that do
  not (wrong type, missing or unknown property, unknown event type) are rejected and store nothing;
- an idempotency key stores one event, whether it is retried in a row or sent by N connections
  released together;
- events are stored in their workspace: bound to another workspace, none of them is visible;
- the moment an event happened is kept: ``occurred_at`` read back equals what was sent, to the
  microsecond (not the time it was received, not truncated), each event a different moment in
  the past.

The events sent are data (``fixtures/analytics/events.yaml``).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from harness.adapter import InvariantViolated
from harness.standards.failures import Finding

# the first event's occurred_at; the others follow at uneven steps
OCCURRED_BASE = datetime(2026, 1, 5, 10, 0, 0, 250_001, tzinfo=UTC)

__all__ = ["AnalyticsCapability", "concurrent_duplicate_findings", "integrity_findings",
           "load_event_fixtures", "taxonomy_findings"]


@runtime_checkable
class AnalyticsCapability(Protocol):
    def analytics_taxonomy(self) -> dict[str, dict[str, Any]]:
        """Event type -> the JSON Schema of its properties."""

    def track_event(self, workspace: Any, event_type: str, properties: dict[str, Any],
                    idempotency_key: str, occurred_at: datetime) -> Any:
        """Stores one event (once per key); raises InvariantViolated when it breaks the taxonomy."""

    def analytics_events(self, workspace: Any) -> list[dict[str, Any]]:
        """The workspace's stored events as its app role sees them (workspace_id, event_type,
        properties, idempotency_key, occurred_at)."""


def load_event_fixtures(path: Path) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {"valid": list(data.get("valid") or []), "invalid": list(data.get("invalid") or [])}


def taxonomy_findings(analytics: AnalyticsCapability) -> list[Finding]:
    import jsonschema  # here: every process reading the family registry imports this module

    found = []
    for event_type, schema in analytics.analytics_taxonomy().items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            found.append(Finding(f"taxonomy {event_type}", "taxonomy-schema", exc.message,
                                 "make the event type's schema a valid JSON Schema"))
    return found


def integrity_findings(analytics: AnalyticsCapability, workspace: Any, other: Any,
                       events: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    """Valid events stored once and conforming, invalid ones rejected, none visible to ``other``."""
    import jsonschema  # as in taxonomy_findings

    found: list[Finding] = []
    taxonomy = analytics.analytics_taxonomy()
    now = datetime.now(UTC)
    keys = {}
    sent_at: dict[str, datetime] = {}
    for i, event in enumerate(events["valid"]):
        key = f"valid-{i}-{uuid.uuid4().hex[:8]}"
        keys[key] = event
        # a distinct moment well in the past, with microseconds: now() or a truncation shows
        sent_at[key] = OCCURRED_BASE + i * timedelta(minutes=7, microseconds=123_457)
        for _ in range(2):  # a retry with the same key
            analytics.track_event(workspace, event["event_type"], event["properties"], key,
                                  sent_at[key])
    for i, event in enumerate(events["invalid"]):
        key = f"invalid-{i}-{uuid.uuid4().hex[:8]}"
        try:
            analytics.track_event(workspace, event["event_type"], event["properties"], key, now)
        except InvariantViolated:
            continue
        found.append(Finding(f"event {event['event_type']}", "taxonomy-rejects",
                             f"accepted properties {event['properties']} that break the taxonomy",
                             "validate against the event type's schema before storing"))
    stored = analytics.analytics_events(workspace)
    by_key: dict[str, int] = {}
    for row in stored:
        by_key[row["idempotency_key"]] = by_key.get(row["idempotency_key"], 0) + 1
        if str(row["workspace_id"]) != str(workspace):
            found.append(Finding(f"event {row['idempotency_key']}", "stored-in-workspace",
                                 f"listed for {workspace} but stored in {row['workspace_id']}"))
        schema = taxonomy.get(row["event_type"])
        if schema is None or list(jsonschema.Draft202012Validator(schema).iter_errors(row["properties"])):
            found.append(Finding(f"event {row['idempotency_key']}", "stored-conforms",
                                 f"stored {row['event_type']} {row['properties']} does not match "
                                 "the taxonomy", "reject such events before they are stored"))
        if row["idempotency_key"].startswith("invalid-"):
            found.append(Finding(f"event {row['idempotency_key']}", "taxonomy-rejects",
                                 "a rejected event was stored anyway", "validate before writing"))
    found += _occurred_at_findings(stored, sent_at)
    for key in keys:
        if by_key.get(key, 0) != 1:
            found.append(Finding(f"event {key}", "once-per-key",
                                 f"sent twice with one idempotency key, stored {by_key.get(key, 0)} times",
                                 "a unique (workspace, idempotency key) and ON CONFLICT DO NOTHING"))
    leaked = [r["idempotency_key"] for r in analytics.analytics_events(other)
              if r["idempotency_key"] in keys]
    if leaked:
        found.append(Finding("analytics events", "stored-in-workspace",
                             f"bound to another workspace, {len(leaked)} of these events are visible",
                             "row-level security on the events table keyed on the workspace"))
    return found


def _occurred_at_findings(stored: list[dict[str, Any]], sent_at: dict[str, datetime]) -> list[Finding]:
    """Each stored event's ``occurred_at`` is the moment sent with it."""
    found = []
    for row in stored:
        sent = sent_at.get(row["idempotency_key"])
        if sent is None:
            continue
        read = row.get("occurred_at")
        if isinstance(read, str):
            with contextlib.suppress(ValueError):
                read = datetime.fromisoformat(read)
        if not isinstance(read, datetime) or read.tzinfo is None or read != sent:
            found.append(Finding(f"event {row['idempotency_key']}", "occurred-at-read-back",
                                 f"sent occurred_at {sent.isoformat()}, read back {read!r}",
                                 "store the occurred_at the client sent (timestamptz, no default "
                                 "or trigger overwriting it); received_at is the server's clock"))
    return found


def concurrent_duplicate_findings(analytics: AnalyticsCapability, workspace: Any,
                                  event: dict[str, Any], senders: int = 8,
                                  rounds: int = 5) -> tuple[list[Finding], dict[str, Any]]:
    """``senders`` threads send one key at once, ``rounds`` times; each key must store one event."""
    found = []
    history = []
    now = datetime.now(UTC)
    for round_no in range(rounds):
        key = f"race-{round_no}-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(senders)

        def send(key: str = key, barrier: threading.Barrier = barrier) -> str:
            barrier.wait(timeout=30)
            try:
                return str(analytics.track_event(workspace, event["event_type"], event["properties"],
                                                 key, now))
            except Exception as exc:  # a duplicate must be absorbed, not surface as an error
                return f"error: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        with ThreadPoolExecutor(senders) as pool:
            outcomes = list(pool.map(lambda _: send(), range(senders)))
        stored = [r for r in analytics.analytics_events(workspace) if r["idempotency_key"] == key]
        history.append({"key": key, "outcomes": outcomes, "stored": len(stored)})
        errors = [o for o in outcomes if o.startswith("error")]
        if len(stored) != 1 or errors or len(set(outcomes)) != 1:
            found.append(Finding(f"event {key}", "once-per-key-concurrent",
                                 f"{senders} concurrent sends stored {len(stored)} event(s); "
                                 f"answers {sorted(set(outcomes))}",
                                 "insert ... on conflict do nothing, then read the first id"))
    return found, {"senders": senders, "rounds": rounds, "history": history}
