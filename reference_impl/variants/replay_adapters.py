"""KNOWN-BAD adapter variants of the replay-safe data path (the database is the reference one).

Each class breaks one thing the replay suite must catch, and says which evidence item turns
NO-GO (``tests/test_bite.py`` proves it does):

- :class:`NoInboxAdapter`: the consumer never consults or writes the inbox (S08.idempotency,
  S08.replay-safety);
- :class:`SelectThenInsertAdapter`: the inbox check is a SELECT, then an INSERT that swallows the
  conflict: right one delivery at a time, wrong when deliveries race (S08.idempotency);
- :class:`UnmarkedReplayAdapter`: replay applies the event but leaves the dead letter open
  (S08.replay-safety);
- :class:`ArrivalOrderMirrorAdapter`: the subscription mirror applies provider events in arrival
  order (S09.billing-reconciliation);
- :class:`TruncatedDigestAdapter`: the webhook signature is compared with ``==`` on its first 16
  hex digits (S09.webhook-signature-validation);
- :class:`NoTimestampAdapter`: the webhook timestamp is never checked, so a captured request can
  be replayed forever (S09.webhook-signature-validation);
- :class:`IngressReappliesAdapter`: the webhook ingress stores each provider event once, but
  applies every delivery, a redelivery too, with its own unguarded write, so a redelivered older
  event rolls a subscription back (S09.duplicate-webhook-dedupe, S09.billing-reconciliation);
  the guarded helper (``apply_subscription_event``) stays right;
- :class:`StaleColumnReconcileAdapter`: reconciliation reads a column the schema renamed, so the
  database refuses its query (SQLSTATE 42703): the target raised, and S09.billing-reconciliation
  must come out failed with the exception attached, not as an error of the harness;
- :class:`FailedReplayClosesLetterAdapter`: a replay that fails again still marks its dead
  letter replayed ("the replay ran"), so after the fix the event is never applied; right when
  the fix comes before the first replay (S08.replay-safety, second cycle only);
- :class:`UnlockedReplayBoundAdapter`: an outbound replay counts the attempts without locking the
  delivery, so replays released together all pass the bound (S09.delivery-replay-controls; one
  replay at a time it is right);
- :class:`ReplayIgnoresClaimAdapter`: a dead-letter replay claims the inbox but applies the
  effect whatever the claim says: right when the replay comes first, a second effect when the
  event was redelivered before the replay (S08.replay-safety, that order only);
- :class:`NoBackoffAdapter`: a failed automation run is retried at once, every retry scheduled at
  ``now()`` (S08.dead-letter-escalation);
- :class:`UnlockedLetterReplayAdapter`: a dead-letter replay reads the letter without holding it
  (no ``FOR UPDATE``): the inbox still applies the event once, but replays racing the winner
  see the letter open and answer ``duplicate`` (S08.replay-safety; one replay at a time it is
  right).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import psycopg

from harness.replay.capability import (
    ALREADY_REPLAYED,
    APPLIED,
    DEAD_LETTERED,
    DUPLICATE,
    NOT_FOUND,
    DeliveryAttemptView,
    ReplayRefused,
    WebhookOutcome,
)
from reference_impl.adapter import ReferenceAdapter
from reference_impl.events.consumer import HandlerError


class NoInboxAdapter(ReferenceAdapter):
    def _claim_inbox(self, conn: psycopg.Connection, consumer: str, envelope: Mapping[str, Any]) -> bool:
        return True


class SelectThenInsertAdapter(ReferenceAdapter):
    def _claim_inbox(self, conn: psycopg.Connection, consumer: str, envelope: Mapping[str, Any]) -> bool:
        key = (envelope["workspace_id"], consumer, envelope["event_id"])
        if conn.execute("select 1 from inbox where workspace_id = %s and consumer = %s and event_id = %s",
                        key).fetchone():
            return False
        conn.execute("insert into inbox (workspace_id, consumer, event_id) values (%s, %s, %s) "
                     "on conflict do nothing", key)
        return True


class UnmarkedReplayAdapter(ReferenceAdapter):
    def _mark_replayed(self, conn: psycopg.Connection, workspace: Any, consumer: str, event_id: str) -> None:
        pass


class ArrivalOrderMirrorAdapter(ReferenceAdapter):
    def _apply_subscription(self, conn: psycopg.Connection, workspace: Any, event: Mapping[str, Any]) -> None:
        conn.execute(
            "insert into subscription_mirror (workspace_id, subscription_id, status, plan, quantity, "
            "provider_sequence) values (%s, %s, %s, %s, %s, %s) "
            "on conflict (workspace_id, subscription_id) do update set status = excluded.status, "
            "plan = excluded.plan, quantity = excluded.quantity, updated_at = now(), "
            "provider_sequence = excluded.provider_sequence",
            (workspace, event["subscription_id"], event["status"], event["plan"],
             event["quantity"], event["sequence"]))


class IngressReappliesAdapter(ReferenceAdapter):
    def receive_webhook(self, workspace: Any, provider: str, headers: Mapping[str, str],
                        body: bytes) -> WebhookOutcome:
        outcome = super().receive_webhook(workspace, provider, headers, body)
        doc = json.loads(body)
        if outcome.status == "duplicate" and doc["type"].startswith("subscription."):
            # the mistake: the ingress's own write path applies the redelivery again, unguarded
            with self.in_workspace(workspace) as conn:
                ArrivalOrderMirrorAdapter._apply_subscription(self, conn, workspace, doc["data"])
        return outcome


class StaleColumnReconcileAdapter(ReferenceAdapter):
    def reconcile_subscriptions(self, workspace: Any, snapshot: Mapping[str, Any]) -> list[str]:
        with self.in_workspace(workspace) as conn:
            # the mistake: the query still names the column by its old name
            conn.execute("select subscription_id, provider_seq from subscription_mirror "
                         "where workspace_id = %s", (workspace,))
        return super().reconcile_subscriptions(workspace, snapshot)


class FailedReplayClosesLetterAdapter(ReferenceAdapter):
    def replay_event_dead_letter(self, workspace: Any, consumer: str, event_id: str) -> str:
        outcome = super().replay_event_dead_letter(workspace, consumer, event_id)
        if outcome == DEAD_LETTERED:
            # the mistake: the replay ran, so the letter is closed whatever its outcome
            with self.in_workspace(workspace) as conn:
                self._mark_replayed(conn, workspace, consumer, event_id)
        return outcome


class UnlockedReplayBoundAdapter(ReferenceAdapter):
    def _attempt(self, workspace: Any, delivery_id: str, replay: bool) -> DeliveryAttemptView:
        with self.in_workspace(workspace) as conn:
            url, event_id, key, limit, done = conn.execute(  # the mistake: no FOR UPDATE
                "select d.endpoint_url, d.event_id, d.idempotency_key, d.max_attempts, "
                "(select count(*) from delivery_attempts a where a.workspace_id = d.workspace_id "
                " and a.delivery_id = d.delivery_id) from outbound_deliveries d "
                "where d.workspace_id = %s and d.delivery_id = %s", (workspace, delivery_id)).fetchone()
            if replay and done >= limit:
                raise ReplayRefused(f"delivery {delivery_id} has used all {limit} attempts")
            status = httpx.post(url, json={"event_id": str(event_id), "delivery_id": delivery_id},
                                headers={"Idempotency-Key": key}, timeout=5).status_code
            error = f"HTTP {status}" if status >= 400 else None
            conn.execute("insert into delivery_attempts (workspace_id, delivery_id, attempt_no, "
                         "idempotency_key, replay, status_code, latency_ms, error) "
                         "values (%s, %s, %s, %s, %s, %s, %s, %s)",
                         (workspace, delivery_id, done + 1, key, replay, status, 1.0, error))
        return DeliveryAttemptView(done + 1, key, replay, status, 1.0, error)


class ReplayIgnoresClaimAdapter(ReferenceAdapter):
    def replay_event_dead_letter(self, workspace: Any, consumer: str, event_id: str) -> str:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select status from dead_letters where workspace_id = %s and "
                               "consumer = %s and event_id = %s for update",
                               (workspace, consumer, event_id)).fetchone()
            if row is None:
                return NOT_FOUND
            if row[0] == "replayed":
                return ALREADY_REPLAYED
            envelope = self._stored_event(conn, workspace, event_id)
            self._claim_inbox(conn, consumer, envelope)
            self._apply_effect(conn, consumer, envelope)   # the mistake: whatever the claim said
            self._mark_replayed(conn, workspace, consumer, event_id)
            return APPLIED


class UnlockedLetterReplayAdapter(ReferenceAdapter):
    def replay_event_dead_letter(self, workspace: Any, consumer: str, event_id: str) -> str:
        try:
            with self.in_workspace(workspace) as conn:
                row = conn.execute("select status from dead_letters where workspace_id = %s and "
                                   "consumer = %s and event_id = %s",   # the mistake: no FOR UPDATE
                                   (workspace, consumer, event_id)).fetchone()
                if row is None:
                    return NOT_FOUND
                if row[0] == "replayed":
                    return ALREADY_REPLAYED
                envelope = self._stored_event(conn, workspace, event_id)
                claimed = self._claim_inbox(conn, consumer, envelope)
                if claimed:
                    self._apply_effect(conn, consumer, envelope)
                self._mark_replayed(conn, workspace, consumer, event_id)
                return APPLIED if claimed else DUPLICATE
        except HandlerError as err:
            self._dead_letter(consumer, {"workspace_id": workspace, "event_id": event_id}, err, 1)
            return DEAD_LETTERED


class TruncatedDigestAdapter(ReferenceAdapter):
    def _digest_matches(self, expected: str, given: str) -> bool:
        return expected[:16] == given[:16]


class NoTimestampAdapter(ReferenceAdapter):
    def _timestamp_problem(self, timestamp: int) -> str | None:
        return None


class NoBackoffAdapter(ReferenceAdapter):
    @staticmethod
    def _record_attempt(conn: psycopg.Connection, workspace: Any, run_id: str, attempt: int,
                        max_attempts: int, error: str | None) -> None:
        ReferenceAdapter._record_attempt(conn, workspace, run_id, attempt, max_attempts, error)
        # the mistake: every retry is due now, so a failing connector is hammered
        conn.execute("update automation_runs set next_attempt_at = now() where workspace_id = %s "
                     "and run_id = %s and status = 'retrying'", (workspace, run_id))
