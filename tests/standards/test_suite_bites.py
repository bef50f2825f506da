"""Proof the standards and recovery suites bite: each known-bad variant of the reference turns its
gate NO-GO on the right item, the suites' other items stay met, and the clean reference is GO
on every item they feed, with nothing skipped.

Each run executes only its family (``scenarios/standards`` or ``scenarios/recovery``) and reads
the verdict from the packets ``harness packet build`` writes; the standards runs share one
server, and the recovery rehearsals start their own durable clusters.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import allure
import pytest

from tests.bite import run_family, shared_server, target_path

pytestmark = pytest.mark.slow

STANDARDS = {"S00": ("S00.tenant-column-convention", "S00.index-baseline"),
             "S01": ("S01.seed-data-validation", "S01.misconfigured-env-diagnostics"),
             "S02": ("S02.identity-tables-rls",),
             "S10": ("S10.security-hardening", "S10.analytics-event-integrity")}
RECOVERY = {"S10": ("S10.backup-restore-rehearsal",), "S11": ("S11.recovery-timing",)}
# variant -> (family, the one test to run (None: the family), the items that must turn failed)
VARIANTS = {
    "standards-missing-fk-index": ("standards", None, {"S00.index-baseline"}),
    "standards-definer-search-path": ("standards", None, {"S10.security-hardening"}),
    "standards-users-visible-to-all": ("standards", None, {"S02.identity-tables-rls"}),
    "standards-bad-seed": ("standards", None, {"S01.seed-data-validation"}),
    "standards-analytics-unvalidated": ("standards", None, {"S10.analytics-event-integrity"}),
    # the tenant isolation suite's variant; its spec declares no standards, so only this test runs
    "table-without-workspace-id": ("standards", "tenant_column", {"S00.tenant-column-convention"}),
    "recovery-archive-drops-wal": ("recovery", "point_in_time", {"S10.backup-restore-rehearsal"}),
    "recovery-unlogged-table": ("recovery", "sigkill", {"S10.backup-restore-rehearsal"}),
}


def _items(family: str) -> dict[str, tuple[str, ...]]:
    return STANDARDS if family == "standards" else RECOVERY


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """Every run of this module, two at a time, on one shared server."""
    out = tmp_path_factory.mktemp("bites")
    runs = [("reference", "standards", None), ("reference", "recovery", None),
            *[(name, family, k) for name, (family, k, _) in VARIANTS.items()]]
    with shared_server() as dsn, ThreadPoolExecutor(2) as pool:
        futures = {(name, family): pool.submit(
            run_family, family, target_path(name), tuple(_items(family)), out / f"{name}-{family}",
            dsn=dsn, pytest_args=("-k", k) if k else ()) for name, family, k in runs}
        return {key: future.result() for key, future in futures.items()}


def _statuses(result, family: str) -> dict[str, str]:
    return {item: result[gate].items.get(item) for gate, items in _items(family).items()
            for item in items}


@pytest.mark.parametrize("family", ["standards", "recovery"])
def test_the_clean_reference_is_go_on_every_item_the_family_feeds(verdicts, family):
    """Every item has tests, every one ran and passed, none was skipped."""
    result = verdicts[("reference", family)]
    statuses = _statuses(result, family)
    allure.attach(json.dumps(statuses, indent=2), name="verdict", attachment_type=allure.attachment_type.JSON)
    log = next(iter(result.values())).log
    assert statuses == dict.fromkeys(statuses, "met"), log
    for gate, items in _items(family).items():
        assert not result[gate].skipped(items), f"skipped tests are never evidence: {result[gate].skipped(items)}"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_known_bad_variant_is_no_go_on_the_right_item(verdicts, name):
    """The variant's mistake fails its item and only that (in a family run: the others stay met)."""
    family, only, expected_failed = VARIANTS[name]
    result = verdicts[(name, family)]
    statuses = _statuses(result, family)
    allure.attach(json.dumps(statuses, indent=2), name="verdict", attachment_type=allure.attachment_type.JSON)
    log = next(iter(result.values())).log
    for item in expected_failed:
        assert statuses[item] == "failed", f"{item}: {statuses[item]}\n{log}"
    if only is None:
        others = {i: s for i, s in statuses.items() if i not in expected_failed}
        assert others == dict.fromkeys(others, "met"), log
    gate = next(iter(expected_failed)).split(".")[0]
    assert result[gate].decision == "NO-GO"
