"""KNOWN-BAD adapter variants for the standards suite.

``AnalyticsWithoutTaxonomyAdapter`` stores analytics events without validating them against the
taxonomy (the check "we validate in the client" that never happens). Expected:
S10.analytics-event-integrity NO-GO (events that break the taxonomy are accepted and stored).

``AnalyticsStampedOnReceiptAdapter`` validates and stores events once, but writes the server's
clock (``now()``) as ``occurred_at`` instead of the moment the client sent: every event looks as if
it happened when it arrived, so a batch uploaded late lands on the wrong day. Expected:
S10.analytics-event-integrity NO-GO (occurred_at read back is not what was sent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from reference_impl.adapter import ReferenceAdapter
from reference_impl.analytics.operations import TAXONOMY_VERSION


class AnalyticsWithoutTaxonomyAdapter(ReferenceAdapter):
    def track_event(self, workspace: UUID, event_type: str, properties: dict[str, Any],
                    idempotency_key: str, occurred_at: datetime) -> UUID:
        with self.in_workspace(workspace) as conn:
            conn.execute(
                "insert into analytics_events (workspace_id, idempotency_key, event_type, "
                "taxonomy_version, properties, occurred_at) values (%s, %s, %s, %s, %s, %s) "
                "on conflict (workspace_id, idempotency_key) do nothing",
                (workspace, idempotency_key, event_type, TAXONOMY_VERSION, Jsonb(properties),
                 occurred_at))
            return conn.execute("select event_id from analytics_events where workspace_id = %s "
                                "and idempotency_key = %s", (workspace, idempotency_key)).fetchone()[0]


class AnalyticsStampedOnReceiptAdapter(ReferenceAdapter):
    def track_event(self, workspace: UUID, event_type: str, properties: dict[str, Any],
                    idempotency_key: str, occurred_at: datetime) -> UUID:
        return super().track_event(workspace, event_type, properties, idempotency_key,
                                   datetime.now(UTC))
