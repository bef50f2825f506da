"""Proof the counter suite bites: every known-bad entitlement data path turns its S10 item
failed, and the clean reference is met on both S10 counter items with nothing skipped.

Each run is the family's scenarios (``scenarios/counters``) against one target, judged by the
packet the ``harness`` command line builds (:mod:`tests.bite`). All runs share one embedded
server (the variants change no cluster-wide state) and go two at a time. Variants skip the
throughput test (it measures speed; the races are what must catch them) and stop at their
first failing test.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor

import allure
import pytest

from tests.bite import GateVerdict, run_family, shared_server, target_path

pytestmark = pytest.mark.slow

ACCURACY, RESET = "S10.entitlement-counter-accuracy", "S10.quota-reset-consistency"
ITEMS = (ACCURACY, RESET)
# variant -> the items it must turn failed; items in PRECISE must stay met otherwise
VARIANTS = {
    "counters-select-then-update": {ACCURACY},
    "counters-separate-quota-check": {ACCURACY},
    "counters-delete-reinsert-reset": {RESET},
    "counters-key-checked-outside": {ACCURACY},
    # right answers, wrong counter: must be *failed* (a target's fault), never error
    "counters-retry-counted-twice": {ACCURACY},
    # a key unique across all workspaces refuses workspace B the key A used
    "counters-key-unique-across-tenants": {ACCURACY},
}
# the rollover mistake touches no consume, so the accuracy item must not notice it
PRECISE = {"counters-delete-reinsert-reset"}
# a variant stops at its first failing test: one failure is the proof, the rest only costs time
VARIANT_ARGS = ("--deselect", "scenarios/counters/test_throughput.py", "--maxfail=1")


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """One future per target, started two at a time on one shared server."""
    out = tmp_path_factory.mktemp("counters-gates")
    with shared_server() as dsn, ThreadPoolExecutor(max_workers=2) as pool:
        futures: dict[str, Future] = {
            name: pool.submit(run_family, "counters", target_path(name), ("S10",), out / name,
                              dsn=dsn, pytest_args=() if name == "reference" else VARIANT_ARGS)
            for name in ["reference", *VARIANTS]}
        yield _Verdicts(futures)


class _Verdicts:
    """The S10 verdict of each target, waited for when first asked."""

    def __init__(self, futures: dict[str, Future]) -> None:
        self.futures = futures

    def __getitem__(self, name: str) -> GateVerdict:
        return self.futures[name].result()["S10"]


def _attach(name: str, verdict: GateVerdict) -> None:
    allure.attach(json.dumps({"target": name, "items": {i: verdict.items.get(i) for i in ITEMS},
                              "failing tests": verdict.failing_tests()}, indent=2),
                  name="gate S10 verdict", attachment_type=allure.attachment_type.JSON)


def test_the_clean_reference_is_met_on_both_counter_items(verdicts):
    """Both S10 counter items have tests, every one of them ran and passed, none skipped."""
    verdict = verdicts["reference"]
    _attach("reference", verdict)
    assert {i: verdict.items.get(i) for i in ITEMS} == dict.fromkeys(ITEMS, "met"), \
        f"failing tests: {verdict.failing_tests()}\n{verdict.log}"
    assert not verdict.skipped(ITEMS), f"skipped tests are never evidence: {verdict.skipped(ITEMS)}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_known_bad_data_path_fails_its_item(verdicts, variant):
    """The variant's mistake turns its item failed (so S10 is NO-GO); a rollover-only mistake
    leaves the accuracy item met: the suite points at the right place."""
    verdict = verdicts[variant]
    _attach(variant, verdict)
    for item in VARIANTS[variant]:
        assert verdict.items.get(item) == "failed", \
            f"{variant}: {item} is {verdict.items.get(item)}, expected failed\n{verdict.log}"
    if variant in PRECISE:
        for item in set(ITEMS) - VARIANTS[variant]:
            assert verdict.items.get(item) == "met", \
                f"{variant}: {item} is {verdict.items.get(item)}: {verdict.failing_tests()}"
    assert verdict.decision == "NO-GO"
