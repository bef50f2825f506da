"""Proof the replay suite bites: each known-bad variant is NO-GO on its item, the reference GO.

The verdicts are the gate packets' (``packet.json``), built with the catalog's own decision rules
by :func:`tests.bite.run_family` on one shared embedded server. The clean reference runs the
whole family (S00, S01, S08, S09); each variant runs only the tests that judge its mistake plus
a control test of a neighbouring item that must stay met, which keeps the module near three
minutes: a variant's failing hypothesis test spends most of its time shrinking.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor

import allure
import pytest

from tests.bite import GateVerdict, run_family, shared_server, target_path

pytestmark = pytest.mark.slow

OURS = {
    "S00": ("S00.event-envelope-contract",),
    "S01": ("S01.contract-compatibility",),
    "S08": ("S08.idempotency", "S08.replay-safety", "S08.dead-letter-escalation",
            "S08.connector-credential-safety"),
    "S09": ("S09.webhook-signature-validation", "S09.duplicate-webhook-dedupe",
            "S09.delivery-replay-controls", "S09.billing-reconciliation"),
}
SIGNATURE_TESTS = "forged_stale_or_unsigned or webhook_delivered_twice"
# variant -> (tests selected with -k, items that must fail, items that must stay met)
VARIANTS = {
    "replay-no-inbox": ("event_delivered_twice or crash_before_commit or poison_event",
                        {"S08.idempotency", "S08.replay-safety"}, {"S08.dead-letter-escalation"}),
    "replay-select-then-insert": ("n_concurrent_deliveries or event_delivered_twice or crash_before_commit",
                                  {"S08.idempotency"}, {"S08.replay-safety"}),
    "replay-unmarked-dead-letter": ("replayed_dead_letter or poison_event",
                                    {"S08.replay-safety"}, {"S08.dead-letter-escalation"}),
    "replay-arrival-order-mirror": ("test_billing or webhook_delivered_twice",
                                    {"S09.billing-reconciliation"}, {"S09.duplicate-webhook-dedupe"}),
    "replay-truncated-signature": (SIGNATURE_TESTS, {"S09.webhook-signature-validation"},
                                   {"S09.duplicate-webhook-dedupe"}),
    "replay-no-timestamp-check": (SIGNATURE_TESTS, {"S09.webhook-signature-validation"},
                                  {"S09.duplicate-webhook-dedupe"}),
    "replay-retries-without-backoff": ("exhausts_its_retries or poison_event",
                                       {"S08.dead-letter-escalation"}, set()),
}


def _gates(items: set[str]) -> tuple[str, ...]:
    return tuple(sorted({i.split(".")[0] for i in items}))


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """Every run, two at a time on one shared server; each test waits for its own."""
    out = tmp_path_factory.mktemp("replay-bites")
    with shared_server() as dsn, ThreadPoolExecutor(max_workers=2) as pool:
        runs: dict[str, Future] = {"reference": pool.submit(
            run_family, "replay", target_path("reference"), tuple(OURS), out / "reference", dsn=dsn)}
        for name, (selection, bad, good) in VARIANTS.items():
            runs[name] = pool.submit(run_family, "replay", target_path(name), _gates(bad | good),
                                     out / name, dsn=dsn, pytest_args=("-k", selection))
        yield runs
        pool.shutdown(wait=True, cancel_futures=True)


def _merged(by_gate: dict[str, GateVerdict]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    items, tests = {}, {}
    for verdict in by_gate.values():
        items.update(verdict.items)
        tests.update(verdict.tests)
    allure.attach(json.dumps({g: {"decision": v.decision, "items": v.items,
                                  "failing tests": v.failing_tests()} for g, v in by_gate.items()},
                             indent=2), name="verdicts", attachment_type=allure.attachment_type.JSON)
    return items, tests


def test_the_clean_reference_is_go_on_s08_and_s09_and_meets_the_envelope_and_contract_items(verdicts):
    """Every item the family feeds is met with nothing skipped; gates S08 and S09 are GO."""
    by_gate = verdicts["reference"].result()
    items, _ = _merged(by_gate)
    ours = [i for group in OURS.values() for i in group]
    log = next(iter(by_gate.values())).log
    assert {i: items.get(i) for i in ours} == dict.fromkeys(ours, "met"), log
    skipped = {g: v.skipped(OURS[g]) for g, v in by_gate.items() if v.skipped(OURS[g])}
    assert not skipped, f"skipped tests are never evidence: {skipped}"
    assert (by_gate["S08"].decision, by_gate["S09"].decision) == ("GO", "GO"), log


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_known_bad_variant_is_no_go_on_the_right_item(verdicts, variant):
    """The variant's mistake fails exactly its items; the control items next to it stay met."""
    _, bad, good = VARIANTS[variant]
    by_gate = verdicts[variant].result()
    items, _ = _merged(by_gate)
    expected = {**dict.fromkeys(bad, "failed"), **dict.fromkeys(good, "met")}
    failing = {g: v.failing_tests() for g, v in by_gate.items()}
    assert {i: items.get(i) for i in expected} == expected, \
        f"failing tests: {failing}\n{next(iter(by_gate.values())).log}"
    assert all(by_gate[g].decision == "NO-GO" for g in _gates(bad))


def test_the_select_then_insert_inbox_passes_in_a_row_and_fails_only_under_the_barrier(verdicts):
    """The SELECT-then-INSERT inbox is right one delivery at a time: only the barrier race catches it."""
    _, tests = _merged(verdicts["replay-select-then-insert"].result())
    idempotency = tests["S08.idempotency"]
    in_a_row = [s for t, s in idempotency.items() if "delivered_twice_in_a_row" in t]
    raced = [s for t, s in idempotency.items() if "n_concurrent_deliveries" in t]
    assert in_a_row == ["passed"] and raced == ["failed"], idempotency
