"""Analytics operations of the reference adapter: validate against the taxonomy, store once.

An event is validated against its type's JSON Schema before it is written; the insert is
``ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`` in a transaction bound to the
workspace, so a retried or concurrent duplicate stores nothing new and returns the first id.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema
from psycopg.types.json import Jsonb

from harness.adapter import InvariantViolated
from reference_impl.connections import AppConnections

TAXONOMY = Path(__file__).parent / "taxonomy"
TAXONOMY_VERSION = 1


@cache
def _taxonomy() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(TAXONOMY.glob("*.json"))}


class AnalyticsOperations(AppConnections):
    # what the isolation suite's row factory cannot guess from the catalog
    ROW_OVERRIDES = {"analytics_events": {"event_type": "search.performed"}}

    def analytics_taxonomy(self) -> dict[str, dict[str, Any]]:
        return dict(_taxonomy())

    def track_event(self, workspace: UUID, event_type: str, properties: dict[str, Any],
                    idempotency_key: str, occurred_at: datetime) -> UUID:
        schema = _taxonomy().get(event_type)
        if schema is None:
            raise InvariantViolated(f"event type {event_type!r} is not in the taxonomy")
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(properties), key=str)
        if errors:
            raise InvariantViolated(f"{event_type}: {errors[0].message}")
        with self.in_workspace(workspace) as conn:
            row = conn.execute(
                "insert into analytics_events (workspace_id, idempotency_key, event_type, "
                "taxonomy_version, properties, occurred_at) values (%s, %s, %s, %s, %s, %s) "
                "on conflict (workspace_id, idempotency_key) do nothing returning event_id",
                (workspace, idempotency_key, event_type, TAXONOMY_VERSION, Jsonb(properties),
                 occurred_at)).fetchone()
            if row is None:
                row = conn.execute("select event_id from analytics_events where workspace_id = %s "
                                   "and idempotency_key = %s", (workspace, idempotency_key)).fetchone()
            return row[0]

    def analytics_events(self, workspace: UUID) -> list[dict[str, Any]]:
        with self.in_workspace(workspace) as conn:
            cur = conn.execute("select workspace_id, event_id, idempotency_key, event_type, "
                               "properties, occurred_at from analytics_events order by received_at, event_id")
            names = [c.name for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
