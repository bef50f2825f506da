"""The replay family: exactly-once effects under duplicates, races, crashes and replays.

Plain checks usable without pytest: the capabilities a target implements
(:mod:`harness.replay.capability`), event contracts and their compatibility
(:mod:`~harness.replay.contracts`), exactly-once checks (:mod:`~harness.replay.checks`), barrier
races and backend kills (:mod:`~harness.replay.races`), the stateful consumer model
(:mod:`~harness.replay.model`), webhook signatures (:mod:`~harness.replay.signing`), the billing
mirror's drift (:mod:`~harness.replay.mirror`) and secrets at rest
(:mod:`~harness.replay.credentials`). Every failure is a :class:`ReplayFailure`.
"""

from harness.families import Family, Variant
from harness.replay.capability import (
    AutomationRunsCapability,
    BillingMirrorCapability,
    CredentialsCapability,
    EventsCapability,
    WebhooksCapability,
)
from harness.replay.failures import ReplayFailure

__all__ = ["FAMILY", "AutomationRunsCapability", "BillingMirrorCapability", "CredentialsCapability",
           "EventsCapability", "ReplayFailure", "WebhooksCapability"]

_SIGNATURES = "forged_stale_or_unsigned or webhook_delivered_twice"

# the family: exactly-once effects; a variant runs only the tests that judge its mistake plus a
# control test of a neighbouring item that must stay met (a failing hypothesis test spends most
# of its time shrinking)
FAMILY = Family(
    name="replay", package="harness.replay",
    items=("S00.event-envelope-contract", "S01.contract-compatibility",
           "S08.idempotency", "S08.replay-safety", "S08.dead-letter-escalation",
           "S08.connector-credential-safety",
           "S09.webhook-signature-validation", "S09.duplicate-webhook-dedupe",
           "S09.delivery-replay-controls", "S09.billing-reconciliation"),
    failure=ReplayFailure,
    capabilities={"events": EventsCapability, "automation-runs": AutomationRunsCapability,
                  "webhooks": WebhooksCapability, "billing-mirror": BillingMirrorCapability,
                  "connector-credentials": CredentialsCapability},
    variant_prefix="replay-",
    variants={
        "replay-no-inbox": Variant(
            frozenset({"S08.idempotency", "S08.replay-safety"}), frozenset({"S08.dead-letter-escalation"}),
            select="event_delivered_twice or crash_before_commit or poison_event"),
        # right one delivery at a time: only the barrier race catches it
        "replay-select-then-insert": Variant(
            frozenset({"S08.idempotency"}), frozenset({"S08.replay-safety"}),
            select="n_concurrent_deliveries or event_delivered_twice or crash_before_commit",
            tests={"delivered_twice_in_a_row": "passed", "n_concurrent_deliveries": "failed"}),
        "replay-unmarked-dead-letter": Variant(
            frozenset({"S08.replay-safety"}), frozenset({"S08.dead-letter-escalation"}),
            select="replayed_dead_letter or poison_event"),
        "replay-arrival-order-mirror": Variant(
            frozenset({"S09.billing-reconciliation"}), frozenset({"S09.duplicate-webhook-dedupe"}),
            select="test_billing or webhook_delivered_twice"),
        "replay-truncated-signature": Variant(
            frozenset({"S09.webhook-signature-validation"}), frozenset({"S09.duplicate-webhook-dedupe"}),
            select=_SIGNATURES),
        "replay-no-timestamp-check": Variant(
            frozenset({"S09.webhook-signature-validation"}), frozenset({"S09.duplicate-webhook-dedupe"}),
            select=_SIGNATURES),
        # the second entry point: the guarded helper converges, the webhook ingress re-applies
        # redeliveries (a redelivered in a row is still right: only a second order shows it)
        "replay-ingress-reapplies": Variant(
            frozenset({"S09.duplicate-webhook-dedupe", "S09.billing-reconciliation"}), frozenset(),
            select="redelivered_in_reverse or webhooks_through_the_ingress or delivered_twice_in_a_row "
                   "or shuffled_and_duplicated_provider",
            tests={"redelivered_in_reverse": "failed", "webhooks_through_the_ingress": "failed",
                   "webhook_delivered_twice_in_a_row": "passed",
                   "shuffled_and_duplicated_provider_events": "passed"}),
        # the target raises (a database error from its own query): failed, never a harness error
        "replay-reconcile-raises": Variant(
            frozenset({"S09.billing-reconciliation"}), frozenset(),
            select="missed_events_are_reported",
            tests={"missed_events_are_reported": "failed"}),
        # right in one cycle; the second (a replay that fails again, then the fix) shows it
        "replay-failed-replay-closes-letter": Variant(
            frozenset({"S08.replay-safety"}), frozenset(),
            select="replayed_dead_letter or replay_that_fails_again",
            tests={"replayed_dead_letter_applies_once": "passed", "replay_that_fails_again": "failed"}),
        # one replay at a time the bound holds; replays released together overrun it
        "replay-unlocked-replay-bound": Variant(
            frozenset({"S09.delivery-replay-controls"}), frozenset(),
            select="outbound_attempts_are_logged or concurrent_replays",
            tests={"outbound_attempts_are_logged": "passed", "concurrent_replays": "failed"}),
        # right when the replay comes first; a second effect when the event was redelivered first
        "replay-replay-ignores-claim": Variant(
            frozenset({"S08.replay-safety"}), frozenset(),
            select="replayed_dead_letter or replayed_after_the_event_was_redelivered",
            tests={"replayed_dead_letter_applies_once": "passed",
                   "replayed_after_the_event_was_redelivered": "failed"}),
        # right within one workspace; another workspace reusing the event id is refused
        "replay-event-id-across-tenants": Variant(
            frozenset({"S08.idempotency"}), frozenset(),
            select="event_delivered_twice or reused_by_another_workspace",
            tests={"event_delivered_twice_in_a_row": "passed", "reused_by_another_workspace": "failed"}),
        # one replay at a time it is right; replays racing the winner see the letter still open
        "replay-letter-replay-unlocked": Variant(
            frozenset({"S08.replay-safety"}), frozenset(),
            select="replayed_dead_letter or racing_replays",
            tests={"replayed_dead_letter_applies_once": "passed", "racing_replays": "failed"}),
        # every retry due at now(): delays must be positive, non-decreasing, capped
        "replay-retries-without-backoff": Variant(
            frozenset({"S08.dead-letter-escalation"}), frozenset(),
            select="exhausts_its_retries or poison_event"),
    },
    go_gates=("S08", "S09"),
)
