"""The provider's side of billing: its event stream, its latest state, and drift from a mirror.

A provider event says a subscription's state (status, plan, quantity) as of the provider's own
``sequence``. Whatever the arrival order, duplicates or losses, a correct mirror ends equal to
:func:`latest_states` of what it received, and after reconciliation equal to the provider's
snapshot. :func:`drift` lists every subscription where mirror and provider disagree.

The checks judge whatever the target answers and never crash on it: a mirror that is not a
mapping of subscription states, a subscription listed twice, a list of repaired subscriptions
that is not one, is a failure of the target with the raw answer attached; should the checker
itself break, its traceback goes in a separate section (:mod:`harness.core.judging`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.core.judging import DEFECT_TITLE, checker_defect, raw
from harness.replay.capability import SubscriptionState
from harness.replay.failures import ReplayFailure, as_json

__all__ = ["drift", "latest_states", "reconciliation_problems", "require_no_drift",
           "mirror_problems", "require_reconciled", "state_of"]


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


def drift(mirror: Any, provider: Mapping[Any, Any]) -> dict[str, dict[str, Any]]:
    """subscription -> {mirror, provider} for every subscription where the two disagree
    (subscriptions compared by their id as text)."""
    ours, theirs = _by_id(mirror), _by_id(provider)
    return {sub: {"mirror": ours.get(sub), "provider": theirs.get(sub)}
            for sub in sorted(set(ours) | set(theirs)) if ours.get(sub) != theirs.get(sub)}


def _by_id(states: Any) -> dict[str, Any]:
    # an answer that is not a mapping holds no readable state: every subscription drifted
    return {str(sub): state for sub, state in states.items()} if isinstance(states, Mapping) else {}


def mirror_problems(mirror: Any) -> list[str]:
    """What in the target's mirror cannot be read as ``{subscription: SubscriptionState}``."""
    if not isinstance(mirror, Mapping):
        return [f"the mirror is a {type(mirror).__name__}, not a mapping of subscription -> state"]
    problems, seen = [], {}
    for sub, state in mirror.items():
        if str(sub) in seen:
            problems.append(f"subscription {sub!r} is listed twice (also as {seen[str(sub)]!r})")
        seen[str(sub)] = sub
        if not isinstance(state, SubscriptionState):
            problems.append(f"subscription {sub!r}: {state!r} is not a subscription state")
    return problems


def require_no_drift(mirror: Any, provider: Mapping[str, SubscriptionState], what: str,
                     history: Any = None) -> None:
    """Raises :class:`ReplayFailure` unless the target's ``mirror`` equals ``provider``."""
    __tracebackhide__ = True
    context = [("provider events in arrival order", as_json(history))] if history is not None else []
    try:
        problems = mirror_problems(mirror)
        found = drift(mirror, provider) if not problems else {}
    except Exception as exc:  # the target's answer broke the checker: judge it, never crash
        raise ReplayFailure(
            f"{what}: the checker could not explain the mirror ({type(exc).__name__}: {exc}); a "
            "mirror nothing explains is a failure of the target",
            [("mirror (raw)", raw(mirror)), ("provider", raw(provider)), *context,
             (DEFECT_TITLE, checker_defect(exc))]) from None
    if problems:
        raise ReplayFailure(f"{what}: the mirror cannot be read: {problems[0]}",
                            [("problems", "\n".join(problems)), ("mirror (raw)", raw(mirror)),
                             ("provider", raw(provider)), *context])
    if found:
        raise ReplayFailure(f"{what}: the mirror disagrees with the provider on "
                            f"{len(found)} subscription(s): {', '.join(found)}",
                            [("drift (mirror vs provider)", as_json(found)), *context])


def reconciliation_problems(drifted: Iterable[str], repaired: Any) -> list[str]:
    """Why ``repaired`` (what the target says reconciliation changed) is not exactly the drifted
    subscriptions: not a list of ids, an id listed twice, one missed, one changed needlessly."""
    if isinstance(repaired, (str, bytes, Mapping)) or not isinstance(repaired, Iterable):
        return [f"reconciliation answered a {type(repaired).__name__}, not a list of subscriptions"]
    ids = [str(sub) for sub in repaired]
    expected = {str(sub) for sub in drifted}
    problems = [f"subscription {sub} reported repaired {ids.count(sub)} times"
                for sub in sorted(set(ids)) if ids.count(sub) > 1]
    problems += [f"drifted subscription {sub} not repaired" for sub in sorted(expected - set(ids))]
    problems += [f"subscription {sub} repaired without drift" for sub in sorted(set(ids) - expected)]
    if not expected:
        problems.append("nothing drifted before reconciliation: the check proves nothing")
    return problems


def require_reconciled(drifted: Mapping[str, Any], repaired: Any, what: str) -> None:
    """Raises :class:`ReplayFailure` unless reconciliation repaired exactly the drifted ones."""
    __tracebackhide__ = True
    try:
        problems = reconciliation_problems(drifted, repaired)
    except Exception as exc:  # judge, never crash
        problems = [f"the checker could not explain the answer ({type(exc).__name__}: {exc})"]
        defect = [(DEFECT_TITLE, checker_defect(exc))]
    else:
        defect = []
    if problems:
        raise ReplayFailure(f"{what}: reconciliation did not repair exactly the drifted "
                            f"subscriptions: {problems[0]}",
                            [("problems", "\n".join(problems)), ("drift before", raw(drifted)),
                             ("repaired (raw)", raw(repaired)), *defect])
