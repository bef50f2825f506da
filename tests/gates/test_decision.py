"""The decision rules, checked over generated result sets with hypothesis: GO exactly when every
item is met or validly waived; skipped tests never count; a rerun-pass is never met (and a
non-waivable item has no way around that); expired waivers do nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.gates.catalog import EvidenceItem, Gate, Threshold
from harness.gates.decision import decide, decision_of
from harness.gates.documents import DocumentResult
from harness.gates.results import Attempt, Metric, TestCase
from harness.gates.waivers import Waiver
from tests.gates.conftest import TODAY

STATUSES = ("passed", "failed", "broken", "skipped")
OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}
CATALOG_LIMIT = Threshold(metric="p95_ms", comparison="<=", value=200.0, unit="ms")


def make_case(name: str, statuses: list[str], evidence: tuple[str, ...],
              metrics: tuple[Metric, ...] = ()) -> TestCase:
    labels = tuple(("evidence", e) for e in evidence)
    attempts = tuple(
        Attempt(uuid=f"{name}-{i}", status=s, start=i * 10, stop=i * 10 + 3, labels=labels,
                metrics=metrics if s != "skipped" else ())
        for i, s in enumerate(statuses))
    return TestCase(key=name, name=name, full_name=f"scenarios#{name}", attempts=attempts)


@st.composite
def items(draw) -> tuple[EvidenceItem, ...]:
    count = draw(st.integers(1, 4))
    result = []
    for i in range(count):
        kind = draw(st.sampled_from(["test", "slo"]))
        thresholds = (CATALOG_LIMIT,) if kind == "slo" and draw(st.booleans()) else ()
        result.append(EvidenceItem(id=f"S03.item-{i}", kind=kind, proves="p",
                                   min_tests=draw(st.integers(1, 3)), waivable=draw(st.booleans()),
                                   thresholds=thresholds))
    return tuple(result)


@st.composite
def metrics(draw) -> tuple[Metric, ...]:
    found = []
    for name in draw(st.sets(st.sampled_from(["p95_ms", "p99_ms"]), max_size=2)):
        value = draw(st.floats(0, 400, allow_nan=False))
        if draw(st.booleans()):
            found.append(Metric(name=name, value=value, unit="ms", comparison=draw(st.sampled_from(list(OPS))),
                                threshold=draw(st.floats(0, 400, allow_nan=False))))
        else:
            found.append(Metric(name=name, value=value, unit="ms"))
    return tuple(sorted(found, key=lambda m: m.name))


@st.composite
def scenarios(draw):
    gate_items = draw(items())
    ids = [i.id for i in gate_items]
    cases = []
    for n in range(draw(st.integers(0, 8))):
        evidence = tuple(sorted(draw(st.sets(st.sampled_from(ids), min_size=1, max_size=2))))
        statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3))
        cases.append(make_case(f"t{n}", statuses, evidence, draw(metrics())))
    waivers = draw(st.lists(st.builds(
        Waiver, item=st.sampled_from(ids), reason=st.just("accepted risk"), approver=st.just("lead"),
        expires=st.dates(TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=5))), max_size=4))
    gate = Gate(id="S03", name="Tenant isolation gate", objective="", stories=(), items=gate_items)
    return gate, tuple(cases), tuple(waivers)


# -- the oracle: the rules of DESIGN.md restated plainly, independent of the implementation ---
def executed(case: TestCase) -> list[str]:
    return [a.status for a in case.attempts if a.status != "skipped"]


def measured(case: TestCase) -> tuple[Metric, ...]:
    """What the last attempt that ran measured."""
    ran = [a for a in case.attempts if a.status != "skipped"]
    return ran[-1].metrics if ran else ()


def oracle_met(item: EvidenceItem, cases: tuple[TestCase, ...]) -> bool:
    runs = []
    for case in cases:
        if item.id not in case.evidence or not executed(case):
            continue  # not this item's, or skipped: never evidence
        final_passed = executed(case)[-1] == "passed"
        if item.kind == "slo" and final_passed and not measured(case):
            continue  # an SLO test that measured nothing is not evidence
        runs.append(case)
    if len(runs) < item.min_tests:
        return False
    for case in runs:
        if any(s != "passed" for s in executed(case)):
            return False  # failed, broken, or passed only on a rerun
        for metric in measured(case):  # every recorded threshold decides, whatever the item's kind
            limit = next(((t.comparison, t.value) for t in item.thresholds if t.metric == metric.name),
                         (metric.comparison, metric.threshold))
            if limit[0] is not None and limit[1] is not None and not OPS[limit[0]](metric.value, limit[1]):
                return False
    names = {m.name for c in runs for m in measured(c)}
    return all(t.metric in names for t in item.thresholds)


def oracle_waived(item: EvidenceItem, waivers: tuple[Waiver, ...]) -> bool:
    return item.waivable and any(w.item == item.id and w.expires >= TODAY for w in waivers)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_go_exactly_when_every_item_is_met_or_validly_waived(scenario):
    gate, cases, waivers = scenario
    verdict = decide(gate, cases, waivers, TODAY)
    for item, result in zip(gate.items, verdict.items, strict=True):
        met, waived = oracle_met(item, cases), oracle_waived(item, waivers)
        expected = "met" if met else ("waived" if waived else result.status)
        assert result.status == expected, (item, result.reason)
        assert (result.status in ("met", "waived")) == (met or waived)
    expected_go = all(oracle_met(i, cases) or oracle_waived(i, waivers) for i in gate.items)
    assert (verdict.decision == "GO") == expected_go


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.data())
def test_skipped_tests_never_count(scenario, data):
    gate, cases, waivers = scenario
    ids = [i.id for i in gate.items]
    skipped = tuple(
        make_case(f"skip{n}", ["skipped"] * data.draw(st.integers(1, 3)),
                  tuple(data.draw(st.sets(st.sampled_from(ids), min_size=1, max_size=2))),
                  data.draw(metrics()))
        for n in range(data.draw(st.integers(1, 4))))
    before = decide(gate, cases, waivers, TODAY)
    after = decide(gate, cases + skipped, waivers, TODAY)
    assert [i.status for i in after.items] == [i.status for i in before.items]
    assert after.decision == before.decision
    for item in after.items:
        assert all(not v.counted for v in item.cases if v.case.name.startswith("skip"))


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.lists(st.sampled_from(["failed", "broken", "skipped"]), min_size=1, max_size=3))
def test_a_rerun_pass_is_never_met_and_never_waives_a_non_waivable_item(scenario, failures):
    gate, cases, waivers = scenario
    target = dataclasses.replace(gate.items[0], waivable=False)
    gate = dataclasses.replace(gate, items=(target, *gate.items[1:]))
    statuses = [*failures, "passed"] if any(s != "skipped" for s in failures) else ["failed", "passed"]
    rerun = make_case("rerun", statuses, (target.id,), (Metric("p95_ms", 1.0, "ms"),))
    valid_waiver = Waiver(item=target.id, reason="flaky, accepted", approver="lead",
                          expires=TODAY + dt.timedelta(days=30))
    verdict = decide(gate, cases + (rerun,), waivers + (valid_waiver,), TODAY)
    assert verdict.items[0].status in ("failed", "error", "flaky")
    assert verdict.decision == "NO-GO"
    assert any(w.state == "rejected" for w in verdict.items[0].waivers)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.data())
def test_an_expired_waiver_is_ignored(scenario, data):
    gate, cases, waivers = scenario
    expired = tuple(
        Waiver(item=data.draw(st.sampled_from([i.id for i in gate.items])), reason="old", approver="lead",
               expires=TODAY - dt.timedelta(days=data.draw(st.integers(1, 400))))
        for _ in range(data.draw(st.integers(1, 3))))
    before = decide(gate, cases, waivers, TODAY)
    after = decide(gate, cases, waivers + expired, TODAY)
    assert [i.status for i in after.items] == [i.status for i in before.items]
    assert after.decision == before.decision


# -- examples that pin the reasons a reader sees -------------------------------------------------
def _gate(*gate_items: EvidenceItem) -> Gate:
    return Gate(id="S03", name="g", objective="", stories=(), items=gate_items)


ITEM = EvidenceItem(id="S03.a", kind="test", proves="p", min_tests=2)
SLO = EvidenceItem(id="S03.slo", kind="slo", proves="p", thresholds=(CATALOG_LIMIT,))


def test_no_test_at_all_is_missing_and_the_gate_is_no_go():
    verdict = decide(_gate(ITEM), (), (), TODAY)
    assert (verdict.items[0].status, verdict.items[0].reason) == ("missing", "no test ran")
    assert verdict.decision == "NO-GO"


def test_fewer_than_min_tests_is_missing():
    verdict = decide(_gate(ITEM), (make_case("t", ["passed"], ("S03.a",)),), (), TODAY)
    assert verdict.items[0].reason == "1 of the 2 required tests ran"


@pytest.mark.parametrize(("statuses", "status", "reason"), [
    (["failed"], "failed", "1 of 2 tests failed: t1"),
    (["broken"], "error", "1 of 2 tests errored in setup or harness code, not on the target: "
                          "t1: no message recorded"),
    (["failed", "passed"], "flaky", "passed only on a rerun: t1"),
    (["passed"], "met", "2 tests passed"),
])
def test_item_status_and_reason(statuses, status, reason):
    cases = (make_case("t1", statuses, ("S03.a",)), make_case("t2", ["passed"], ("S03.a",)))
    item = decide(_gate(ITEM), cases, (), TODAY).items[0]
    assert (item.status, item.reason) == (status, reason)


def test_catalog_threshold_overrides_the_tests_own():
    loose = Metric("p95_ms", 250.0, "ms", threshold=300.0, comparison="<=")
    item = decide(_gate(SLO), (make_case("lat", ["passed"], ("S03.slo",), (loose,)),), (), TODAY).items[0]
    assert item.status == "failed"
    assert item.reason == "lat: p95_ms = 250 ms breaks <= 200 ms (catalog)"


def test_slo_test_without_a_measured_value_is_not_evidence():
    item = decide(_gate(SLO), (make_case("lat", ["passed"], ("S03.slo",)),), (), TODAY).items[0]
    assert item.status == "missing"
    assert item.cases[0].note.startswith("attached no measured value")


def test_slo_needs_the_catalog_metric_measured():
    other = Metric("p99_ms", 10.0, "ms")
    item = decide(_gate(SLO), (make_case("lat", ["passed"], ("S03.slo",), (other,)),), (), TODAY).items[0]
    assert (item.status, item.reason) == ("missing", "no test measured p95_ms")


def test_valid_waiver_turns_a_failed_waivable_item_waived():
    waiver = Waiver(item="S03.a", reason="fix next sprint", approver="lead", expires=TODAY)
    item = decide(_gate(ITEM), (make_case("t", ["failed"], ("S03.a",)),), (waiver,), TODAY).items[0]
    assert (item.status, item.evidence_status) == ("waived", "failed")
    assert item.waiver is not None and "fix next sprint" in item.reason


@pytest.mark.parametrize(("document", "status"), [
    (DocumentResult("passed", "risks.yaml", (), ("risks.yaml",)), "met"),
    (DocumentResult("failed", "risks.yaml", ("R-1: has no owner",), ("risks.yaml",)), "failed"),
    (DocumentResult("missing", "risks.yaml", ("not found",)), "missing"),
    (None, "missing"),
])
def test_document_items_mirror_their_check(document, status):
    doc = EvidenceItem(id="S03.risks", kind="document", proves="p", check="risk-register", path="risks.yaml")
    documents = {doc.id: document} if document is not None else {}
    item = decide(_gate(doc), (make_case("t", ["passed"], ("S03.risks",)),), (), TODAY, documents).items[0]
    assert item.status == status
    assert not item.cases[0].counted  # a test cannot stand in for a document


def test_tests_for_the_gate_with_unknown_evidence_ids_are_reported():
    cases = (make_case("typo", ["passed"], ("S03.cross-tenant-negative",)),
             make_case("other-gate", ["passed"], ("S04.x",)))
    verdict = decide(_gate(ITEM), cases, (), TODAY)
    assert [(e, c.name) for e, c in verdict.unmatched] == [("S03.cross-tenant-negative", "typo")]


def test_a_gate_with_no_items_is_never_go():
    assert decision_of([]) == "NO-GO"
    assert decision_of(["met", "waived"]) == "GO"


def test_a_test_items_recorded_threshold_decides_it():
    """A figure recorded with a threshold is judged whatever the item's kind: a ``test`` item whose
    test passed but whose metric misses its threshold is failed, naming metric, value and
    threshold; the same figure recorded without a threshold is information only."""
    item = EvidenceItem(id="S03.a", kind="test", proves="p")
    missed = Metric("consume_ratio", 0.054, "", threshold=0.5, comparison=">=")
    verdict = decide(_gate(item), (make_case("rate", ["passed"], ("S03.a",), (missed,)),), (), TODAY)
    assert (verdict.decision, verdict.items[0].status) == ("NO-GO", "failed")
    assert verdict.items[0].reason == "rate: consume_ratio = 0.054 breaks >= 0.5 (test)"
    info = dataclasses.replace(missed, threshold=None, comparison=None)
    verdict = decide(_gate(item), (make_case("rate", ["passed"], ("S03.a",), (info,)),), (), TODAY)
    assert (verdict.decision, verdict.items[0].status) == ("GO", "met")
    assert verdict.items[0].metrics[0].ok is None


def test_a_failed_test_and_a_missed_threshold_are_both_named():
    item = EvidenceItem(id="S03.a", kind="test", proves="p")
    missed = Metric("requests", 0.0, "requests", threshold=1.0, comparison=">=")
    verdict = decide(_gate(item), (make_case("load", ["failed"], ("S03.a",), (missed,)),), (), TODAY)
    assert verdict.items[0].reason == "1 of 1 tests failed: load; load: requests = 0 requests breaks >= 1 requests (test)"
