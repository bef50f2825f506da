"""The replay family: exactly-once effects under duplicates, races, crashes and replays.

Plain checks usable without pytest: the capabilities a target implements
(:mod:`harness.replay.capability`), event contracts and their compatibility
(:mod:`~harness.replay.contracts`), exactly-once checks (:mod:`~harness.replay.checks`), barrier
races and backend kills (:mod:`~harness.replay.races`), the stateful consumer model
(:mod:`~harness.replay.model`), webhook signatures (:mod:`~harness.replay.signing`), the billing
mirror's drift (:mod:`~harness.replay.mirror`) and secrets at rest
(:mod:`~harness.replay.credentials`). Every failure is a :class:`ReplayFailure`.
"""

from harness.replay.capability import (
    AutomationRunsCapability,
    BillingMirrorCapability,
    CredentialsCapability,
    EventsCapability,
    WebhooksCapability,
)
from harness.replay.failures import ReplayFailure

__all__ = ["AutomationRunsCapability", "BillingMirrorCapability", "CredentialsCapability",
           "EventsCapability", "ReplayFailure", "WebhooksCapability"]
