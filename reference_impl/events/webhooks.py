"""Inbound provider webhooks, outbound deliveries, and the subscription mirror they feed.

Inbound: the signature (``Webhook-Signature: t=<ts>,v1=<hex>``, HMAC-SHA256 over ``"<ts>." +
body`` under the provider's signing secret, itself a connector credential) is checked in full
and in constant time, and the timestamp within ``TOLERANCE_SECONDS``; a rejected request stores
nothing. An accepted one is stored once per provider event id (``ON CONFLICT DO NOTHING``), and
a subscription event is applied to the mirror in the same transaction. The mirror applies an
event only when its provider ``sequence`` is newer than the one it holds, so duplicates and
out-of-order delivery converge to the provider's latest state.

Outbound: each delivery has an idempotency key; every POST is logged as an attempt (status code,
latency, error), a replay is a new attempt with the same key, refused past ``max_attempts``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
import psycopg

from harness.replay.capability import (
    DeliveryAttemptView,
    ReplayRefused,
    SubscriptionState,
    WebhookOutcome,
)
from reference_impl.connections import AppConnections

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "webhook-signature"


class WebhookOperations(AppConnections):
    db: Any
    setting: str

    # -- inbound -----------------------------------------------------------------------------
    def register_webhook_secret(self, workspace: Any, provider: str, secret: str) -> None:
        self.store_credential(workspace, f"webhook-signing:{provider}", secret)  # type: ignore[attr-defined]

    def receive_webhook(self, workspace: Any, provider: str, headers: Mapping[str, str],
                        body: bytes) -> WebhookOutcome:
        secret = self._active_secret(workspace, f"webhook-signing:{provider}")  # type: ignore[attr-defined]
        if secret is None:
            return WebhookOutcome("rejected", f"no signing secret for {provider}")
        problem = self._signature_problem(secret, {k.lower(): v for k, v in headers.items()}, body)
        if problem:
            return WebhookOutcome("rejected", problem)
        doc = json.loads(body)
        with self.in_workspace(workspace) as conn:
            stored = conn.execute(
                "insert into inbound_webhooks (workspace_id, provider, provider_event_id, event_type, "
                "payload, signed_at) values (%s, %s, %s, %s, %s, to_timestamp(%s)) "
                "on conflict (workspace_id, provider, provider_event_id) do nothing returning 1",
                (workspace, provider, doc["id"], doc["type"], json.dumps(doc),
                 self._timestamp(headers))).fetchone()
            if stored is None:
                return WebhookOutcome("duplicate", f"provider event {doc['id']} already received")
            if doc["type"].startswith("subscription."):
                self._apply_subscription(conn, workspace, doc["data"])
        return WebhookOutcome("accepted")

    def stored_webhooks(self, workspace: Any, provider: str) -> list[str]:
        with self.in_workspace(workspace) as conn:
            return [r[0] for r in conn.execute(
                "select provider_event_id from inbound_webhooks where workspace_id = %s "
                "and provider = %s", (workspace, provider)).fetchall()]

    @staticmethod
    def _timestamp(headers: Mapping[str, str]) -> int:
        parts = dict(p.split("=", 1) for p in
                     {k.lower(): v for k, v in headers.items()}[SIGNATURE_HEADER].split(",") if "=" in p)
        return int(parts["t"])

    def _signature_problem(self, secret: str, headers: Mapping[str, str], body: bytes) -> str | None:
        header = headers.get(SIGNATURE_HEADER)
        if not header:
            return "missing signature"
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
            return "malformed signature header"
        problem = self._timestamp_problem(int(parts["t"]))
        if problem:
            return problem
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        return None if self._digest_matches(expected, parts["v1"]) else "signature mismatch"

    def _timestamp_problem(self, timestamp: int) -> str | None:
        skew = abs(time.time() - timestamp)
        return f"timestamp {skew:.0f}s outside the {TOLERANCE_SECONDS}s tolerance" \
            if skew > TOLERANCE_SECONDS else None

    def _digest_matches(self, expected: str, given: str) -> bool:
        return hmac.compare_digest(expected, given)

    # -- subscription mirror -----------------------------------------------------------------
    def apply_subscription_event(self, workspace: Any, event: Mapping[str, Any]) -> None:
        with self.in_workspace(workspace) as conn:
            self._apply_subscription(conn, workspace, event)

    def _apply_subscription(self, conn: psycopg.Connection, workspace: Any, event: Mapping[str, Any]) -> None:
        conn.execute(
            "insert into subscription_mirror (workspace_id, subscription_id, status, plan, quantity, "
            "provider_sequence) values (%s, %s, %s, %s, %s, %s) "
            "on conflict (workspace_id, subscription_id) do update set status = excluded.status, "
            "plan = excluded.plan, quantity = excluded.quantity, updated_at = now(), "
            "provider_sequence = excluded.provider_sequence "
            "where subscription_mirror.provider_sequence < excluded.provider_sequence",
            (workspace, event["subscription_id"], event["status"], event["plan"],
             event["quantity"], event["sequence"]))

    def subscription_mirror(self, workspace: Any) -> dict[str, SubscriptionState]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select subscription_id, status, plan, quantity, provider_sequence "
                                "from subscription_mirror where workspace_id = %s", (workspace,)).fetchall()
        return {r[0]: SubscriptionState(r[1], r[2], r[3], r[4]) for r in rows}

    def reconcile_subscriptions(self, workspace: Any, snapshot: Mapping[str, SubscriptionState]) -> list[str]:
        before = self.subscription_mirror(workspace)
        with self.in_workspace(workspace) as conn:
            for sub, state in snapshot.items():
                if before.get(sub) != state:
                    self._apply_subscription(conn, workspace, {
                        "subscription_id": sub, "status": state.status, "plan": state.plan,
                        "quantity": state.quantity, "sequence": state.sequence})
        after = self.subscription_mirror(workspace)
        return sorted(s for s in after if before.get(s) != after[s])

    # -- outbound ----------------------------------------------------------------------------
    def create_delivery(self, workspace: Any, endpoint_url: str, event_id: str, idempotency_key: str) -> str:
        with self.in_workspace(workspace) as conn:
            return str(conn.execute(
                "insert into outbound_deliveries (workspace_id, endpoint_url, event_id, idempotency_key) "
                "values (%s, %s, %s, %s) returning delivery_id",
                (workspace, endpoint_url, event_id, idempotency_key)).fetchone()[0])

    def deliver(self, workspace: Any, delivery_id: str) -> DeliveryAttemptView:
        return self._attempt(workspace, delivery_id, replay=False)

    def replay_delivery(self, workspace: Any, delivery_id: str) -> DeliveryAttemptView:
        return self._attempt(workspace, delivery_id, replay=True)

    def delivery_attempts(self, workspace: Any, delivery_id: str) -> list[DeliveryAttemptView]:
        with self.in_workspace(workspace) as conn:
            rows = conn.execute("select attempt_no, idempotency_key, replay, status_code, latency_ms, error "
                                "from delivery_attempts where workspace_id = %s and delivery_id = %s "
                                "order by attempt_no", (workspace, delivery_id)).fetchall()
        return [DeliveryAttemptView(*r) for r in rows]

    def _attempt(self, workspace: Any, delivery_id: str, replay: bool) -> DeliveryAttemptView:
        # the delivery row stays locked through the POST, so concurrent replays number their
        # attempts one after another and cannot overrun the bound together. The attempts are
        # counted by a statement of their own, after the lock is held: counted in the locking
        # statement, a replay that waited for the lock would count with the snapshot it took
        # before waiting, and number its attempt like the one it waited for
        with self.in_workspace(workspace) as conn:
            url, event_id, key, limit = conn.execute(
                "select d.endpoint_url, d.event_id, d.idempotency_key, d.max_attempts "
                "from outbound_deliveries d where d.workspace_id = %s and d.delivery_id = %s for update",
                (workspace, delivery_id)).fetchone()
            done = conn.execute("select count(*) from delivery_attempts where workspace_id = %s "
                                "and delivery_id = %s", (workspace, delivery_id)).fetchone()[0]
            if replay and done >= limit:
                raise ReplayRefused(f"delivery {delivery_id} has used all {limit} attempts")
            status, error, started = None, None, time.perf_counter()
            try:
                status = httpx.post(url, json={"event_id": str(event_id), "delivery_id": delivery_id},
                                    headers={"Idempotency-Key": key}, timeout=5).status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            latency = (time.perf_counter() - started) * 1000
            if status is not None and status >= 400:
                error = f"HTTP {status}"
            conn.execute("insert into delivery_attempts (workspace_id, delivery_id, attempt_no, "
                         "idempotency_key, replay, status_code, latency_ms, error) "
                         "values (%s, %s, %s, %s, %s, %s, %s, %s)",
                         (workspace, delivery_id, done + 1, key, replay, status, latency, error))
        return DeliveryAttemptView(done + 1, key, replay, status, latency, error)
