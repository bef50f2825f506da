"""Proof the suite bites: gate S03 is NO-GO on the right item for every known-bad variant of the
reference implementation, and GO on every item for the clean reference.

The verdict is the gate packet's (``packet.json``: the decision and each item's status), built by
the ``harness`` command line with the catalog's own decision rules (:mod:`tests.bite`). The
reference and its variants share one embedded server, except app-role-bypassrls, which alters
the cluster-wide app role and gets a private server; runs go two at a time.
"""

from __future__ import annotations

import pytest

from tests.bite import target_path
from tests.isolation.conftest import S03_ITEMS, attach_verdict

pytestmark = pytest.mark.slow

# variant -> the S03 items it must turn NO-GO; every other item of this suite must stay met
VARIANTS = {
    "rls-not-forced": {"S03.policy-coverage"},
    "using-true": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
    "view-without-security-invoker": {"S03.policy-coverage"},
    "app-role-bypassrls": {"S03.policy-coverage", "S03.cross-tenant-negatives"},
    "table-without-workspace-id": {"S03.policy-coverage"},
    # deny-by-default is advice on the posture; the positive twin shows A cannot delete its rows
    "missing-delete-policy": {"S03.cross-tenant-negatives"},
    "viewer-can-write": {"S03.role-matrix"},
}
PRIVATE_SERVER = {"app-role-bypassrls"}   # alters a cluster-wide role


@pytest.fixture(scope="module")
def verdicts(gate_runs):
    return gate_runs({name: target_path(name) for name in ["reference", *VARIANTS]}, PRIVATE_SERVER)


def test_the_clean_reference_is_go_on_every_s03_item(verdicts):
    """Every S03 item this suite feeds has tests, and every one of them ran and passed."""
    verdict = verdicts("reference")
    attach_verdict(verdict)
    assert {i: verdict.items.get(i) for i in S03_ITEMS} == dict.fromkeys(S03_ITEMS, "met"), verdict.log
    assert not verdict.skipped(S03_ITEMS), "skipped tests are never evidence"
    assert verdict.decision == "GO"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_known_bad_variant_is_no_go_on_the_right_item(verdicts, name):
    """The variant's mistake turns its items NO-GO, and only those: the suite is precise."""
    verdict = verdicts(name)
    attach_verdict(verdict)
    expected = {i: ("failed" if i in VARIANTS[name] else "met") for i in S03_ITEMS}
    assert {i: verdict.items.get(i) for i in S03_ITEMS} == expected, \
        f"failing tests: {verdict.failing_tests()}\n{verdict.log}"
    assert verdict.decision == "NO-GO"
