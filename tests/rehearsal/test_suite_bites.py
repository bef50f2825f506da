"""Proof the migration rehearsal bites: each known-bad revision stacked on the reference head
turns its gate item NO-GO, and only that item; the clean reference is met on every item.

Runs ``scenarios/migrations`` for S01, S04 and S11 against each target through
:func:`tests.bite.run_family` (the packet's own decision rules), all on one shared embedded
server, two runs at a time.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import allure
import pytest

from tests.bite import run_family, shared_server, target_path

pytestmark = pytest.mark.slow

GATES = ("S01", "S04", "S11")
ITEMS = ("S01.migration-dry-run", "S04.migration-rollback-rehearsal",
         "S04.migration-lock-safety", "S11.rollback-rehearsal")
# variant -> the items it must fail; every other item of this family must stay met
VARIANTS = {
    "rehearsal-downgrade-forgets-index": {"S04.migration-rollback-rehearsal"},
    "rehearsal-downgrade-forgets-policy": {"S04.migration-rollback-rehearsal"},
    "rehearsal-lossy-rename": {"S04.migration-rollback-rehearsal"},
    "rehearsal-table-without-rls": {"S01.migration-dry-run"},
    "rehearsal-blocking-index": {"S04.migration-lock-safety"},
    "rehearsal-no-rollback-note": {"S01.migration-dry-run"},
}

# variant -> tests that must be among the failing ones (the check that is meant to catch it)
CAUGHT_BY = {
    "rehearsal-downgrade-forgets-index": {"test_each_downgrade_and_upgrade_restores_the_schema_exactly"},
    "rehearsal-downgrade-forgets-policy": {"test_each_downgrade_and_upgrade_restores_the_schema_exactly"},
    "rehearsal-lossy-rename": {"test_data_survives_each_round_trip"},
    "rehearsal-table-without-rls": {"test_every_new_table_is_tenant_scoped_at_the_revision_that_adds_it"},
    # squawk and the live-load rehearsal each catch it on their own
    "rehearsal-blocking-index": {"test_no_revision_runs_a_statement_that_takes_a_heavy_lock",
                                 "test_no_step_stalls_tenant_traffic_past_the_lock_budget"},
    "rehearsal-no-rollback-note": {"test_history_has_one_head_and_every_revision_says_how_it_rolls_back"},
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    names = ["reference", *VARIANTS]
    out = tmp_path_factory.mktemp("rehearsal-bites")
    with shared_server() as dsn, ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(run_family, "migrations", target_path(n), GATES, out / n, dsn=dsn)
                   for n in names}
        yield {n: f.result() for n, f in futures.items()}


def _statuses(verdicts: dict) -> dict[str, str]:
    merged = {}
    for verdict in verdicts.values():
        merged.update({i: s for i, s in verdict.items.items() if i in ITEMS})
    return merged


def _attach(name: str, verdicts: dict) -> None:
    allure.attach(json.dumps({g: {"decision": v.decision, "items": v.items,
                                  "failing": v.failing_tests()} for g, v in verdicts.items()},
                             indent=2), name=f"{name} verdicts", attachment_type=allure.attachment_type.JSON)


def test_the_clean_reference_is_met_on_every_migration_item(verdicts):
    """Every migration item has tests, all ran and passed; nothing is skipped."""
    reference = verdicts["reference"]
    _attach("reference", reference)
    log = "\n".join(v.log for v in reference.values())
    assert _statuses(reference) == dict.fromkeys(ITEMS, "met"), log
    skipped = {g: v.skipped(ITEMS) for g, v in reference.items() if v.skipped(ITEMS)}
    assert not skipped, f"skipped tests are never evidence: {skipped}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_known_bad_revision_is_no_go_on_the_right_item(verdicts, variant):
    """The variant's mistake fails its item and leaves every other migration item met."""
    result = verdicts[variant]
    _attach(variant, result)
    expected = {i: ("failed" if i in VARIANTS[variant] else "met") for i in ITEMS}
    failing = {g: v.failing_tests() for g, v in result.items()}
    assert _statuses(result) == expected, f"failing tests: {failing}\n" + \
        "\n".join(v.log for v in result.values())
    for item in VARIANTS[variant]:
        assert result[item.split(".")[0]].decision == "NO-GO"
    caught = {t for v in failing.values() for tests in v.values() for t in tests}
    assert CAUGHT_BY[variant] <= caught, f"expected {CAUGHT_BY[variant]} to fail, failing: {failing}"
