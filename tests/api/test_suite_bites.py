"""Proof the API suite bites: each known-bad API variant turns the right S02/S04 item NO-GO, and the
clean reference is met on every item the suite feeds, with nothing skipped.

The verdicts are the gate packets' (``tests/bite.py``: ``scenarios/api`` run against the target,
``harness packet build`` for S02 and S04). Only the items this suite feeds are judged: the other
items of S02 and S04 belong to other families and are not run here. All runs share one embedded
server (the first run creates the app role, the others reuse it through SET ROLE), two runs at
a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import allure
import pytest

from tests.bite import GateVerdict, run_family, shared_server, target_path

pytestmark = pytest.mark.slow

GATES = ("S02", "S04")
ITEMS = ("S02.unauthorized-access-negatives", "S02.mutation-trace-fields", "S04.domain-invariants",
         "S04.timeline-durability", "S04.concurrent-update-safety")
# variant -> the items it must turn NO-GO; every other item of the suite must stay met
VARIANTS = {
    "api-unbound-lookup": {"S02.unauthorized-access-negatives"},
    "api-forbidden-403": {"S02.unauthorized-access-negatives"},
    "api-offset-pagination": {"S04.domain-invariants"},
    "api-revoked-token-accepted": {"S02.unauthorized-access-negatives"},
}


def _gates_of(items) -> tuple[str, ...]:
    return tuple(sorted({i.split(".")[0] for i in items}))


def _item_statuses(verdicts: dict[str, GateVerdict]) -> dict[str, str | None]:
    """Each fed item's status, for the gates that were run."""
    return {i: verdicts[i.split(".")[0]].items.get(i) for i in ITEMS if i.split(".")[0] in verdicts}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, dict[str, GateVerdict]]:
    out = tmp_path_factory.mktemp("api-bites")
    with shared_server() as dsn:
        def run(name: str) -> dict[str, GateVerdict]:
            # a variant runs only the gate(s) of the items it must break: the time budget
            gates = GATES if name == "reference" else _gates_of(VARIANTS[name])
            return run_family("api", target_path(name), gates, out / name, dsn=dsn, timeout=600)

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(run, name) for name in ["reference", *VARIANTS]}
            return {name: f.result() for name, f in futures.items()}


def _attach(name: str, verdicts: dict[str, GateVerdict]) -> None:
    allure.attach(str({"items": _item_statuses(verdicts),
                       "failing tests": {g: v.failing_tests() for g, v in verdicts.items()}}),
                  name=f"{name} verdict", attachment_type=allure.attachment_type.TEXT)


def test_the_clean_reference_is_met_on_every_item_the_suite_feeds(verdicts):
    """Every item the API suite feeds ran, passed and skipped nothing on the reference."""
    reference = verdicts["reference"]
    _attach("reference", reference)
    log = "\n".join(v.log for v in reference.values())
    assert _item_statuses(reference) == dict.fromkeys(ITEMS, "met"), log
    skipped = {g: v.skipped(ITEMS) for g, v in reference.items() if v.skipped(ITEMS)}
    assert not skipped, f"skipped tests are never evidence: {skipped}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_known_bad_api_variant_is_no_go_on_the_right_item(verdicts, variant):
    """The variant's mistake fails exactly its items; the suite's other items of that gate stay met."""
    result = verdicts[variant]
    _attach(variant, result)
    expected = {i: ("failed" if i in VARIANTS[variant] else "met") for i in ITEMS
                if i.split(".")[0] in _gates_of(VARIANTS[variant])}
    failing = {g: v.failing_tests() for g, v in result.items()}
    assert _item_statuses(result) == expected, f"failing tests: {failing}\n" + \
        "\n".join(v.log for v in result.values())
    assert any(result[i.split(".")[0]].decision == "NO-GO" for i in VARIANTS[variant])
