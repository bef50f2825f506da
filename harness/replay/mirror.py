"""The provider's side of billing: its event stream, its latest state, and drift from a mirror.

A provider event says a subscription's state (status, plan, quantity) as of the provider's own
``sequence``. Whatever the arrival order, duplicates or losses, a correct mirror ends equal to
:func:`latest_states` of what it received, and after reconciliation equal to the provider's
snapshot. :func:`drift` lists every subscription where mirror and provider disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.replay.capability import SubscriptionState
from harness.replay.failures import ReplayFailure, as_json

__all__ = ["drift", "latest_states", "require_no_drift", "state_of"]


def state_of(event: Mapping[str, Any]) -> SubscriptionState:
    return SubscriptionState(str(event["status"]), str(event["plan"]), int(event["quantity"]),
                             int(event["sequence"]))


def latest_states(events: Iterable[Mapping[str, Any]]) -> dict[str, SubscriptionState]:
    """Each subscription's state at the highest sequence among ``events``."""
    latest: dict[str, SubscriptionState] = {}
    for event in events:
        state, sub = state_of(event), str(event["subscription_id"])
        if sub not in latest or state.sequence > latest[sub].sequence:
            latest[sub] = state
    return latest


def drift(mirror: Mapping[str, SubscriptionState],
          provider: Mapping[str, SubscriptionState]) -> dict[str, dict[str, Any]]:
    """subscription -> {mirror, provider} for every subscription where the two disagree."""
    return {sub: {"mirror": mirror.get(sub), "provider": provider.get(sub)}
            for sub in sorted(set(mirror) | set(provider)) if mirror.get(sub) != provider.get(sub)}


def require_no_drift(mirror: Mapping[str, SubscriptionState],
                     provider: Mapping[str, SubscriptionState], what: str,
                     history: Any = None) -> None:
    __tracebackhide__ = True
    found = drift(mirror, provider)
    if found:
        context = [("drift (mirror vs provider)", as_json(found))]
        if history is not None:
            context.append(("provider events in arrival order", as_json(history)))
        raise ReplayFailure(f"{what}: the mirror disagrees with the provider on "
                            f"{len(found)} subscription(s): {', '.join(found)}", context)
