"""The tenant suite on targets not shaped like the reference (``fixtures/targets/``).

- **supabase-style**: SQL-folder migrations, tenant column ``account_id`` in schema ``core``, root
  ``core.accounts`` keyed by ``id``, policies through a SECURITY DEFINER membership helper
  reading the user from JWT claims, requests bound by ``SET LOCAL ROLE authenticated`` plus the
  claims, owner/member roles only, principals from its adapter's ``create_tenant``;
- **org-bigint**: ``org_id bigint``, Flyway-named files, ``SET LOCAL ROLE org_member`` plus one
  setting, no adapter (the harness makes the root rows), no membership model (declared).

The clean version of each is met on every item it can feed, with every probe executed (no
skipped test on those items); a capability it declares unsupported is never met. Each
known-bad variant turns exactly the right items NO-GO. All runs share one embedded server.
"""

from __future__ import annotations

import pytest

from tests.bite import ROOT
from tests.isolation.conftest import attach_verdict

pytestmark = pytest.mark.slow

TARGETS = ROOT / "fixtures" / "targets"
JUDGED = ("S03.policy-coverage", "S03.cross-tenant-negatives", "S03.role-matrix")
# target -> the items it cannot feed (declared unsupported): skipped, never met
NOT_APPLICABLE = {"supabase-style": {"S03.membership-audit"},
                  "org-bigint": {"S03.role-matrix", "S03.membership-audit"}}
# variant -> the items it must turn NO-GO
VARIANTS = {
    "supabase-style/helper-returns-true": {"S03.cross-tenant-negatives", "S03.role-matrix"},
    # deny-by-default is advice on the posture; the positive twin catches it
    "supabase-style/missing-child-policy": {"S03.cross-tenant-negatives"},
    # who may own a new tenant is the role model's question (S03.role-matrix)
    "supabase-style/root-insert-without-owner-check": {"S03.role-matrix"},
    "org-bigint/helper-returns-true": {"S03.cross-tenant-negatives"},
    "org-bigint/missing-child-policy": {"S03.cross-tenant-negatives"},
    "org-bigint/root-insert-without-owner-check": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
}


def _spec(name: str):
    base, _, variant = name.partition("/")
    return TARGETS / base / ("variants/" + variant if variant else "") / "target.yaml"


@pytest.fixture(scope="module")
def verdicts(gate_runs):
    return gate_runs({name: _spec(name) for name in [*NOT_APPLICABLE, *VARIANTS]}, set())


def _expected(name: str, failing: set[str]) -> dict[str, str]:
    skipped = NOT_APPLICABLE[name.partition("/")[0]]
    return {i: "failed" if i in failing else "met" for i in JUDGED if i not in skipped}


@pytest.mark.parametrize("name", list(NOT_APPLICABLE))
def test_a_clean_fixture_target_meets_every_item_it_can_feed(verdicts, name):
    """Clean: every judged item met, no probe skipped; declared gaps are skipped, never met."""
    verdict = verdicts(name)
    attach_verdict(verdict)
    expected = _expected(name, set())
    assert {i: verdict.items.get(i) for i in expected} == expected, \
        f"failing tests: {verdict.failing_tests()}\n{verdict.log}"
    assert not verdict.skipped(tuple(expected)), "skipped tests are never evidence"
    for item in NOT_APPLICABLE[name]:
        assert verdict.items.get(item) != "met"
        assert set(verdict.tests.get(item, {}).values()) <= {"skipped"}, verdict.tests.get(item)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_known_bad_fixture_variant_is_no_go_on_the_right_item(verdicts, name):
    """The variant's mistake turns its items NO-GO, and only those."""
    verdict = verdicts(name)
    attach_verdict(verdict)
    expected = _expected(name, VARIANTS[name])
    assert {i: verdict.items.get(i) for i in expected} == expected, \
        f"failing tests: {verdict.failing_tests()}\n{verdict.log}"
    assert verdict.decision == "NO-GO"
