"""What the replay family needs from a target: four small capabilities, and the views they return.

- ``events`` (:class:`EventsCapability`): the event store and envelope catalog, a consumer whose
  effects and inbox record commit together, dead letters and their explicit replay;
- ``automation-runs`` (:class:`AutomationRunsCapability`): runs keyed by an idempotency key with
  retry state, dead-lettered and escalated when retries run out;
- ``webhooks`` (:class:`WebhooksCapability`): signed inbound provider webhooks (HMAC-SHA256 over
  ``"<timestamp>." + body``, see :mod:`harness.replay.signing`), deduplicated by provider event
  id, and logged, bounded, replayable outbound deliveries;
- ``billing-mirror`` (:class:`BillingMirrorCapability`): the subscription mirror and its
  reconciliation with a provider snapshot;
- ``connector-credentials`` (:class:`CredentialsCapability`): credentials stored as references,
  with an active / rotated / revoked lifecycle.

Workspaces are strings or UUIDs, as the target likes; event ids are compared as strings. A
method that lets a test inject a fault (``set_handler_fault``) is part of the contract on
purpose: the suite cannot prove retry and replay behaviour without a handler that fails on cue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ALREADY_REPLAYED", "APPLIED", "DEAD_LETTERED", "DUPLICATE", "NOT_FOUND", "AutomationRunView", "AutomationRunsCapability",
    "BillingMirrorCapability", "CredentialsCapability", "DeadLetterView", "DeliveryAttemptView",
    "EnvelopeRejected", "EventsCapability", "ReplayRefused", "SubscriptionState",
    "WebhookOutcome", "WebhooksCapability",
]

# outcomes of handling or replaying one event
APPLIED, DUPLICATE, DEAD_LETTERED = "applied", "duplicate", "dead_lettered"
ALREADY_REPLAYED, NOT_FOUND = "already_replayed", "not_found"


class EnvelopeRejected(ValueError):
    """The target refused an event whose envelope does not match its schema (nothing stored)."""


class ReplayRefused(RuntimeError):
    """The target refused a replay (its bound is reached); no attempt was made or logged."""


@dataclass(frozen=True)
class DeadLetterView:
    event_id: str
    consumer: str
    error_class: str
    attempts: int
    last_error: str
    status: str                     # open | replayed


@dataclass(frozen=True)
class AutomationRunView:
    run_id: str
    idempotency_key: str
    status: str                     # pending | retrying | succeeded | dead_lettered
    attempts: int
    max_attempts: int
    next_attempt_at: Any            # a datetime, or None once terminal
    last_error: str | None


@dataclass(frozen=True)
class WebhookOutcome:
    status: str                     # accepted | duplicate | rejected
    reason: str = ""


@dataclass(frozen=True)
class DeliveryAttemptView:
    attempt_no: int
    idempotency_key: str
    replay: bool
    status_code: int | None
    latency_ms: float
    error: str | None


@dataclass(frozen=True)
class SubscriptionState:
    status: str
    plan: str
    quantity: int
    sequence: int


class EventsCapability(Protocol):
    def event_schemas(self) -> Mapping[str, Mapping[int, Mapping[str, Any]]]:
        """Every event type's JSON Schemas by version (the repository's contract catalog)."""

    def publish_event(self, envelope: Mapping[str, Any]) -> None:
        """Stores one event; raises :class:`EnvelopeRejected` (storing nothing) if it is invalid."""

    def handle_event(self, consumer: str, envelope: Mapping[str, Any], *,
                     before_commit: Callable[[int], None] | None = None) -> str:
        """Delivers an event to ``consumer``: ``applied``, ``duplicate`` or ``dead_lettered``.

        ``before_commit(backend_pid)`` runs after the effect is written and before the commit.
        """

    def set_handler_fault(self, consumer: str, event_type: str, error: str | None) -> None:
        """Makes the handler raise ``error`` for ``event_type`` from now on (None: fixed)."""

    def applied_effects(self, workspace: Any, consumer: str) -> list[str]:
        """The event id of every effect row the consumer wrote (duplicates kept)."""

    def inbox_entries(self, workspace: Any, consumer: str) -> list[str]:
        """The event id of every inbox row of the consumer."""

    def stored_events(self, workspace: Any) -> list[dict[str, Any]]:
        """Every stored event row of the workspace, as its envelope fields."""

    def event_dead_letters(self, workspace: Any, consumer: str) -> list[DeadLetterView]: ...

    def replay_event_dead_letter(self, workspace: Any, consumer: str, event_id: str) -> str:
        """``applied``, ``duplicate``, ``already_replayed``, ``not_found`` or ``dead_lettered``."""


class AutomationRunsCapability(Protocol):
    def start_automation_run(self, workspace: Any, automation: str, idempotency_key: str) -> str:
        """The run for the key, created once; the same key always returns the same run id."""

    def attempt_automation_run(self, workspace: Any, run_id: str) -> AutomationRunView:
        """One attempt of a run that is due; a terminal run is returned unchanged."""

    def set_automation_fault(self, automation: str, error: str | None) -> None: ...

    def automation_runs(self, workspace: Any) -> list[AutomationRunView]: ...

    def escalations(self, workspace: Any, run_id: str) -> list[str]:
        """The reasons of the run's escalation rows."""


class WebhooksCapability(Protocol):
    def register_webhook_secret(self, workspace: Any, provider: str, secret: str) -> None: ...

    def receive_webhook(self, workspace: Any, provider: str, headers: Mapping[str, str],
                        body: bytes) -> WebhookOutcome: ...

    def stored_webhooks(self, workspace: Any, provider: str) -> list[str]:
        """The provider event id of every stored inbound webhook row."""

    def create_delivery(self, workspace: Any, endpoint_url: str, event_id: str,
                        idempotency_key: str) -> str: ...

    def deliver(self, workspace: Any, delivery_id: str) -> DeliveryAttemptView:
        """One HTTP POST to the endpoint, logged as an attempt whatever happens."""

    def replay_delivery(self, workspace: Any, delivery_id: str) -> DeliveryAttemptView:
        """A new attempt with the same idempotency key; :class:`ReplayRefused` past the bound."""

    def delivery_attempts(self, workspace: Any, delivery_id: str) -> list[DeliveryAttemptView]: ...


class BillingMirrorCapability(Protocol):
    def apply_subscription_event(self, workspace: Any, event: Mapping[str, Any]) -> None:
        """Applies one provider event (``subscription_id``, ``sequence``, ``status``, ``plan``,
        ``quantity``) to the mirror."""

    def subscription_mirror(self, workspace: Any) -> dict[str, SubscriptionState]: ...

    def reconcile_subscriptions(self, workspace: Any,
                                snapshot: Mapping[str, SubscriptionState]) -> list[str]:
        """Repairs the mirror from the provider's snapshot; returns the subscriptions changed."""


class CredentialsCapability(Protocol):
    def store_credential(self, workspace: Any, connector: str, secret: str) -> str: ...

    def rotate_credential(self, workspace: Any, credential_id: str, new_secret: str) -> str: ...

    def revoke_credential(self, workspace: Any, credential_id: str) -> None: ...

    def read_credential(self, workspace: Any, credential_id: str) -> str | None:
        """The secret, resolved for the workspace; None when revoked, rotated away or not visible."""

    def credential_status(self, workspace: Any, credential_id: str) -> str | None:
        """active / rotated / revoked, or None when the workspace cannot see the credential."""
