"""The exactly-once checks every replay scenario ends with, usable without pytest.

:func:`exactly_once_findings` compares what a consumer did (its effect rows, its inbox rows)
with the set of distinct events that should have taken effect: each exactly once, nothing else.
:func:`require_exactly_once` raises one :class:`ReplayFailure` carrying the duplicate effects,
the missing and unexpected ones and the history that produced them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.replay.capability import EventsCapability
from harness.replay.failures import ReplayFailure, as_json, duplicates_of

__all__ = ["exactly_once_findings", "require_exactly_once"]


def exactly_once_findings(effects: Sequence[Any], inbox: Sequence[Any],
                          expected: Iterable[Any]) -> dict[str, Any]:
    """Empty when effects and inbox each hold every expected event once and nothing else."""
    want = {str(e) for e in expected}
    findings: dict[str, Any] = {}
    for name, rows in (("effects", effects), ("inbox", inbox)):
        seen = {str(r) for r in rows}
        if duplicates_of(rows):
            findings[f"duplicate {name}"] = duplicates_of(rows)
        if want - seen:
            findings[f"missing {name}"] = sorted(want - seen)
        if seen - want:
            findings[f"unexpected {name}"] = sorted(seen - want)
    return findings


def require_exactly_once(target: EventsCapability, workspace: Any, consumer: str,
                         expected: Iterable[Any], what: str, history: Any = None) -> None:
    """Raises :class:`ReplayFailure` unless ``consumer`` applied each expected event once."""
    __tracebackhide__ = True
    expected = sorted({str(e) for e in expected})
    effects = target.applied_effects(workspace, consumer)
    inbox = target.inbox_entries(workspace, consumer)
    findings = exactly_once_findings(effects, inbox, expected)
    if findings:
        context = [("findings", as_json(findings)),
                   ("rows seen", as_json({"effects": effects, "inbox": inbox, "expected": expected}))]
        if history is not None:
            context.append(("event history", as_json(history)))
        raise ReplayFailure(f"{what}: consumer {consumer!r} did not apply each event exactly once "
                            f"({', '.join(findings)})", context)
