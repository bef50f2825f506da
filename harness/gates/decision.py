"""The decision rules: from test outcomes, documents and waivers to GO / NO-GO.

Everything here is a pure function of its arguments (the day included), so the rules can be
tested exhaustively with generated result sets. The rules, strict by default (DESIGN.md):

- **Skipped tests are never evidence.** A test whose every attempt was skipped is listed, not
  counted.
- An item is **not-applicable** when it needs a capability (``capability:`` in the catalog)
  that the target declares unsupported (``unsupported: {name: reason}`` in its spec), with
  that reason. It is **never met**: it blocks GO like any other item that is not met, unless a
  release lead waives it (a waivable item with a valid waiver). Strict on purpose: a target that
  cannot do what the gate asks has not passed the gate.
- An item is **failed** when any counted test failed on the target (Allure ``failed``: an
  ``AssertionError``, such as an ``EvidenceFailure``), or when a measured value breaks its
  threshold: the catalog's threshold for that metric when it has one (``slo`` items), else the
  one the test recorded (``record_metric(..., threshold, comparison)``), whatever the item's kind.
  Every recorded threshold decides something: a figure that is information only is recorded
  without one.
- An item is **error** when a counted test errored in setup or in harness code (Allure
  ``broken``: any other exception) and none failed: still not met, but shown apart from
  failures with its cause, since it says nothing yet about the target.
- An item is **flaky** when a counted test passed only on a rerun, passed but Allure marks it
  flaky (``statusDetails.flaky``), or ran in several shards with different outcomes (see
  :mod:`~harness.gates.results`). Flaky is **never met**, for any
  item: a rerun-pass shows the check can fail, and a gate "that can be trusted" cannot open on
  it. For a waivable item, a release lead who accepts that risk says so with a waiver, which
  then shows on the packet's first screen; a non-waivable (security, tenant isolation) item has
  no such way out.
- An item is **missing** when fewer than ``min_tests`` counted tests ran (none at all included);
  an ``slo`` test counts only when it attached a measured value, and each catalog threshold
  must have been measured by some counted test. A ``document`` item mirrors its check: passed is
  met, failed is failed, and nothing to check is missing.
- Otherwise the item is **met**.
- A valid waiver (see :mod:`harness.gates.waivers`) turns an item that is not met into
  **waived**; expired waivers and waivers of non-waivable items change nothing.
- The gate is **GO** exactly when every item is met or waived.

Precedence when several apply: not-applicable, then failed, error, flaky, missing.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.gates.catalog import EvidenceItem, Gate
from harness.gates.documents import DocumentResult
from harness.gates.results import Metric, TestCase
from harness.gates.waivers import Waiver, WaiverState, assess

__all__ = ["ITEM_STATUSES", "CaseVerdict", "GateVerdict", "ItemVerdict", "MetricCheck", "decide",
           "decision_of", "evaluate_item"]

ITEM_STATUSES = ("met", "failed", "error", "missing", "flaky", "not-applicable", "waived")
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class MetricCheck:
    test: str
    metric: Metric
    comparison: str | None
    threshold: float | None
    threshold_from: str | None   # "catalog" | "test" | None (nothing to compare with)
    ok: bool | None

    def describe(self) -> str:
        unit = f" {self.metric.unit}" if self.metric.unit else ""
        text = f"{self.metric.name} = {self.metric.value:g}{unit}"
        if self.threshold is not None:
            verdict = "keeps" if self.ok else "breaks"
            text += f" {verdict} {self.comparison} {self.threshold:g}{unit} ({self.threshold_from})"
        return text


@dataclass(frozen=True)
class CaseVerdict:
    case: TestCase
    counted: bool
    note: str = ""


@dataclass(frozen=True)
class ItemVerdict:
    item: EvidenceItem
    status: str                 # one of ITEM_STATUSES
    evidence_status: str        # the status before waivers
    reason: str
    cases: tuple[CaseVerdict, ...] = ()
    metrics: tuple[MetricCheck, ...] = ()
    document: DocumentResult | None = None
    waivers: tuple[WaiverState, ...] = ()

    @property
    def waiver(self) -> WaiverState | None:
        return next((w for w in self.waivers if w.state == "applied"), None)


@dataclass(frozen=True)
class GateVerdict:
    gate: Gate
    decision: str               # "GO" | "NO-GO"
    items: tuple[ItemVerdict, ...]
    unmatched: tuple[tuple[str, TestCase], ...] = ()   # (unknown evidence id, test) for this gate

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)


def decision_of(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    return "GO" if statuses and all(s in ("met", "waived") for s in statuses) else "NO-GO"


def decide(gate: Gate, cases: Iterable[TestCase], waivers: tuple[Waiver, ...], today: dt.date,
           documents: Mapping[str, DocumentResult] | None = None,
           unsupported: Mapping[str, str] | None = None) -> GateVerdict:
    """The verdict for ``gate``: one :class:`ItemVerdict` per catalog item, and the decision.

    ``unsupported`` maps the capabilities the target declares it lacks to the reason."""
    cases = tuple(cases)
    documents = documents or {}
    items = tuple(
        evaluate_item(item, tuple(c for c in cases if item.id in c.evidence), waivers, today,
                      documents.get(item.id), unsupported)
        for item in gate.items
    )
    known = {i.id for i in gate.items}
    unmatched = []
    for case in cases:
        if gate.id not in case.gates:
            continue
        ids = [e for e in case.evidence if e.split(".", 1)[0] == gate.id]
        unmatched.extend((e, case) for e in ids if e not in known)
        if not ids:
            unmatched.append(("", case))
    return GateVerdict(gate=gate, decision=decision_of(i.status for i in items), items=items,
                       unmatched=tuple(unmatched))


def evaluate_item(item: EvidenceItem, cases: tuple[TestCase, ...], waivers: tuple[Waiver, ...],
                  today: dt.date, document: DocumentResult | None = None,
                  unsupported: Mapping[str, str] | None = None) -> ItemVerdict:
    reason_unsupported = (unsupported or {}).get(item.capability or "")
    if item.capability and reason_unsupported is not None:
        status = "not-applicable"
        reason = f"the target does not support {item.capability}: {reason_unsupported}"
        verdicts = tuple(CaseVerdict(c, False, "not counted: the item is not applicable")
                         for c in cases)
        checks: tuple[MetricCheck, ...] = ()
    elif item.kind == "document":
        status, reason, verdicts, checks = _document_status(document, cases)
    else:
        status, reason, verdicts, checks = _test_status(item, cases)
    states = assess(item, waivers, today, met=status == "met")
    applied = next((w for w in states if w.state == "applied"), None)
    final = "waived" if applied is not None else status
    if applied is not None:
        reason = f"{reason}; waived until {applied.waiver.expires.isoformat()} ({applied.waiver.reason})"
    return ItemVerdict(item=item, status=final, evidence_status=status, reason=reason,
                       cases=verdicts, metrics=checks, document=document, waivers=states)


_Evaluation = tuple[str, str, tuple[CaseVerdict, ...], tuple[MetricCheck, ...]]


def _test_status(item: EvidenceItem, cases: tuple[TestCase, ...]) -> _Evaluation:
    verdicts = []
    for case in cases:
        outcome = case.outcome
        if outcome == "skipped":
            verdicts.append(CaseVerdict(case, False, "skipped: a skipped check is never evidence"))
        elif item.kind == "slo" and outcome in ("passed", "flaky") and not case.metrics:
            verdicts.append(CaseVerdict(case, False, "attached no measured value (metric:<name>)"))
        else:
            verdicts.append(CaseVerdict(case, True))
    counted = [v.case for v in verdicts if v.counted]
    checks = tuple(_check(item, case, metric) for case in counted for metric in case.metrics)
    failed = [c.name for c in counted if c.outcome == "failed"]
    errored = [c for c in counted if c.outcome == "broken"]
    breaches = [m for m in checks if m.ok is False]
    flaky = [c.name for c in counted if c.outcome == "flaky"]
    skipped = len(verdicts) - len(counted)
    unmeasured = [t.metric for t in item.thresholds
                  if not any(m.metric.name == t.metric for m in checks)]
    if failed:
        status, reason = "failed", f"{len(failed)} of {len(counted)} tests failed: {_names(failed)}"
        if breaches:
            reason += "; " + "; ".join(f"{m.test}: {m.describe()}" for m in breaches)
    elif breaches:
        status, reason = "failed", "; ".join(f"{m.test}: {m.describe()}" for m in breaches)
    elif errored:
        status = "error"
        reason = (f"{len(errored)} of {len(counted)} tests errored in setup or harness code, "
                  f"not on the target: " + _by_cause(errored))
    elif flaky:
        status, reason = "flaky", "; ".join(f"{why}: {_names(names)}" for why, names in _flaky_why(
            [c for c in counted if c.outcome == "flaky"]).items())
    elif not counted:
        status = "missing"
        reason = "no test ran" + (f" ({skipped} skipped or without evidence)" if skipped else "")
    elif len(counted) < item.min_tests:
        status, reason = "missing", f"{len(counted)} of the {item.min_tests} required tests ran"
    elif unmeasured:
        status, reason = "missing", f"no test measured {', '.join(unmeasured)}"
    else:
        status = "met"
        reason = f"{len(counted)} test{'s' if len(counted) != 1 else ''} passed"
        if checks:
            reason += "; " + "; ".join(m.describe() for m in checks if m.threshold is not None)
    return status, reason.rstrip("; "), tuple(verdicts), checks


def _document_status(document: DocumentResult | None, cases: tuple[TestCase, ...]) -> _Evaluation:
    verdicts = tuple(CaseVerdict(c, False, "document items are checked by the harness, not by tests")
                     for c in cases)
    if document is None:
        return "missing", "no target spec given, so the document could not be checked", verdicts, ()
    status = {"passed": "met", "failed": "failed"}.get(document.status, "missing")
    if status == "met":
        count = len(document.checked)
        reason = f"{document.subject}: {count} file{'s' if count != 1 else ''} checked, no problem"
    else:
        reason = f"{document.subject}: " + "; ".join(document.problems[:5])
        if len(document.problems) > 5:
            reason += f"; and {len(document.problems) - 5} more"
    return status, reason, verdicts, ()


def _check(item: EvidenceItem, case: TestCase, metric: Metric) -> MetricCheck:
    rule = next((t for t in item.thresholds if t.metric == metric.name), None)
    if rule is not None:
        comparison, threshold, source = rule.comparison, rule.value, "catalog"
    elif metric.comparison is not None and metric.threshold is not None:
        comparison, threshold, source = metric.comparison, metric.threshold, "test"
    else:
        return MetricCheck(case.name, metric, None, None, None, None)
    ok = bool(_OPS[comparison](metric.value, threshold))
    return MetricCheck(case.name, metric, comparison, threshold, source, ok)


def _flaky_why(cases: list[TestCase]) -> dict[str, list[str]]:
    why: dict[str, list[str]] = {}
    for case in cases:
        if len({a.shard for a in case.executed}) > 1:
            text = "outcomes differ between shards"
        elif any(a.marked_flaky for a in case.executed):
            text = "marked flaky by Allure"
        else:
            text = "passed only on a rerun"
        why.setdefault(text, []).append(case.name)
    return why


def _by_cause(cases: list[TestCase]) -> str:
    """The errors' causes, each once: seven tests broken by one fixture read as one cause."""
    names: dict[str, list[str]] = {}
    for case in cases:
        names.setdefault(_cause(case), []).append(case.name)
    shown = [f"{tests[0]}: {cause}" if len(tests) == 1 else f"{cause} (× {len(tests)}: {_names(tests)})"
             for cause, tests in list(names.items())[:3]]
    more = len(names) - len(shown)
    return "; ".join(shown) + (f"; and {more} more causes" if more > 0 else "")


def _cause(case: TestCase) -> str:
    """The first line of the error a broken test reported (Allure's statusDetails.message)."""
    message = case.final.message.strip()
    return message.splitlines()[0][:300] if message else "no message recorded"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")
