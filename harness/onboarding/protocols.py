"""Every capability name with its Protocol: what ``harness init`` drafts and skeletons from.

The one place that knows where the Protocols live today; when the family registry lands
(``{capability: Protocol}`` per family) this function reads it instead, and nothing else here
changes. Imports are local so that ``harness init`` loads a family only when asked about it.
"""

from __future__ import annotations

__all__ = ["UNSUPPORTED", "capability_protocols"]


def _unsupported() -> type[Exception]:
    """What a skeleton method raises: ``harness.Unsupported`` once it exists, until then this."""
    import harness

    return getattr(harness, "Unsupported", NotImplementedError)


UNSUPPORTED = _unsupported()


def capability_protocols() -> dict[str, type]:
    """``{capability name: Protocol}``, in the catalog's order of gates."""
    from harness.ai.protocols import AgentRuns, Ingestion, Retrieval
    from harness.api.target import ApiTarget
    from harness.counters.capability import EntitlementCapability
    from harness.isolation.membership import MembershipAudit, Memberships, Suspension
    from harness.replay.capability import (
        AutomationRunsCapability,
        BillingMirrorCapability,
        CredentialsCapability,
        EventsCapability,
        WebhooksCapability,
    )
    from harness.standards.analytics import AnalyticsCapability

    return {
        "memberships": Memberships,
        "membership-suspension": Suspension,
        "membership-audit": MembershipAudit,
        "events": EventsCapability,
        "automation-runs": AutomationRunsCapability,
        "ingestion": Ingestion,
        "agent-runs": AgentRuns,
        "retrieval": Retrieval,
        "webhooks": WebhooksCapability,
        "billing-mirror": BillingMirrorCapability,
        "connector-credentials": CredentialsCapability,
        "entitlements": EntitlementCapability,
        "analytics": AnalyticsCapability,
        "api": ApiTarget,
    }
