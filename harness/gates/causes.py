"""Why a gate is NO-GO, in a few lines: the causes of every item not met, de-duplicated.

A release lead reads the first screen of a packet to learn what stands between the gate and GO.
Each item that is not met gets one line; within it, tests that report the same cause (the same
first line of their message) are shown once with a count, so seven tests that broke on one
missing fixture read as one cause, seven times. Each cause is named by its kind: a failure of
the target, a missed threshold, a gap in the target's adapter or configuration (a capability the
adapter lacks, a spec or environment that stops the suites), an error in harness code, flaky or
missing evidence. The errors section groups errors across items the same way.

Everything here reads the ``packet.json`` dict only, like the renderers that use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Cause", "ErrorGroup", "WhyLine", "error_groups", "first_line", "gap_kind", "why_not_met"]

TARGET_FAILURE = "target failure"
THRESHOLD_MISSED = "threshold missed"
ADAPTER_GAP = "adapter gap"
CONFIGURATION_GAP = "configuration gap"
HARNESS_ERROR = "harness error"
DECLARED_GAP = "declared not applicable"
FLAKY = "flaky"
NO_EVIDENCE = "no evidence"
DOCUMENT = "document problem"

# What an exception's class (as Allure writes it, first on the message line) and its words say
# about the cause. A capability the adapter lacks (declared or not: an undeclared one is an
# error naming the spec's field), or a binding only its create_tenant could fill, is the
# target's integration, not its data layer. A spec or environment the suites stopped on (a
# ConfigError, a backend that cannot start, a spec without what a check needs) is configuration.
_GAPS = (
    (re.compile(r"\b(UndeclaredCapability|Unsupported|NotImplementedError|BindingError)\b"
                r"|lacks the '[^']+' capability|names no adapter|adapter does not support"), ADAPTER_GAP),
    (re.compile(r"\b(ConfigError|BackendUnavailable|UnsafeAppRole|CapabilityMissing)\b"), CONFIGURATION_GAP),
)
_CAUSE_LIMIT = 300


@dataclass(frozen=True)
class Cause:
    kind: str                 # one of the names above
    text: str
    tests: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return max(1, len(self.tests))


@dataclass(frozen=True)
class WhyLine:
    item: str
    status: str
    causes: tuple[Cause, ...]


@dataclass(frozen=True)
class ErrorGroup:
    """Tests (across items) that errored with one cause: its message and one trace, shown once."""

    kind: str
    cause: str
    message: str
    trace: str
    tests: tuple[tuple[str, str], ...]   # (item id, test name)


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0][:_CAUSE_LIMIT] if lines else "no message recorded"


def gap_kind(message: str, default: str) -> str:
    return next((kind for pattern, kind in _GAPS if pattern.search(message)), default)


def why_not_met(packet: dict[str, Any]) -> list[WhyLine]:
    """One line per item that is neither met nor waived, in catalog order."""
    return [WhyLine(item["id"], item["status"], _causes(item))
            for item in packet["items"] if item["status"] not in ("met", "waived")]


def error_groups(packet: dict[str, Any]) -> list[ErrorGroup]:
    """Errored (broken) tests of every item, one group per distinct first line of the message."""
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for item in packet["items"]:
        for test in item["tests"]:
            if test["status"] == "broken":
                groups.setdefault(first_line(test["message"]), []).append((item, test))
    return [ErrorGroup(kind=gap_kind(cause, HARNESS_ERROR), cause=cause,
                       message=members[0][1]["message"], trace=members[0][1]["trace"],
                       tests=tuple((item["id"], test["name"]) for item, test in members))
            for cause, members in groups.items()]


def _causes(item: dict[str, Any]) -> tuple[Cause, ...]:
    status = item["status"]
    if status == "not-applicable":
        return (Cause(DECLARED_GAP, item["reason"]),)
    if item.get("document") is not None and status != "missing":
        problems = item["document"]["problems"]
        return tuple(Cause(DOCUMENT, p) for p in problems[:5]) + (
            (Cause(DOCUMENT, f"and {len(problems) - 5} more"),) if len(problems) > 5 else ())
    counted = [t for t in item["tests"] if t["counted"]]
    causes: list[Cause] = []
    if status == "failed":
        causes += _grouped([t for t in counted if t["status"] == "failed"], TARGET_FAILURE)
        causes += [Cause(THRESHOLD_MISSED, _metric_text(m), (m["test"],))
                   for m in item["metrics"] if m.get("ok") is False]
    elif status == "error":
        causes += _grouped([t for t in counted if t["status"] == "broken"], HARNESS_ERROR)
    elif status == "flaky":
        causes.append(Cause(FLAKY, item["reason"], tuple(t["name"] for t in counted if t["status"] == "flaky")))
    return tuple(causes) or (Cause(NO_EVIDENCE if status == "missing" else status, item["reason"]),)


def _grouped(tests: list[dict[str, Any]], default: str) -> list[Cause]:
    by_cause: dict[str, list[str]] = {}
    for test in tests:
        by_cause.setdefault(first_line(test["message"]), []).append(test["name"])
    return [Cause(gap_kind(text, default), text, tuple(names)) for text, names in by_cause.items()]


def _metric_text(metric: dict[str, Any]) -> str:
    unit = f" {metric['unit']}" if metric.get("unit") else ""
    return (f"{metric['name']} = {metric['value']:g}{unit}, needs {metric['comparison']} "
            f"{metric['threshold']:g}{unit} ({metric['threshold_from']})")
