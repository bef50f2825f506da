"""Real public schemas written by others, judged by the tenant suite and by their ground truth.

Each real target in ``fixtures/targets/`` carries ``ground_truth/probes.sql``: plain SQL probes a
reviewer wrote apart from the suite (:mod:`tests.isolation.ground_truth` runs it with psql on a
freshly migrated database). For the clean schema and each known-bad variant, the S03 packet must
match the ground truth item by item; the clean schema meets S03.cross-tenant-negatives with no
skipped test, and each variant turns exactly the item its mistake belongs to NO-GO.
"""

from __future__ import annotations

import pytest

from tests.bite import ROOT, shared_server
from tests.isolation.conftest import attach_verdict
from tests.isolation.ground_truth import ground_truth

pytestmark = pytest.mark.slow

TARGETS = ROOT / "fixtures" / "targets"
JUDGED = ("S03.cross-tenant-negatives", "S03.policy-coverage", "S03.role-matrix")
# the real weaknesses of the clean schema, found by both: any user may create an account naming
# another user as its primary owner; the primary owner may demote itself, leaving no owner
CLEAN = {"basejump": {"S03.cross-tenant-negatives": "met", "S03.policy-coverage": "met",
                      "S03.role-matrix": "failed"},
         # one owner per organization, changed only by transfer: the role matrix is declared
         # unsupported (not applicable), and the ground truth does not judge it
         "graphile-starter": {"S03.cross-tenant-negatives": "met", "S03.policy-coverage": "met",
                              "S03.role-matrix": "not-applicable"}}
# variant -> the items that turn from met to failed
VARIANTS = {
    "basejump/helper-ignores-tenant": {"S03.cross-tenant-negatives"},
    "basejump/child-policy-without-tenant-check": {"S03.cross-tenant-negatives"},
    "basejump/definer-returns-other-tenant": {"S03.cross-tenant-negatives"},
    "graphile-starter/helper-ignores-user": {"S03.cross-tenant-negatives"},
    "graphile-starter/child-policy-without-tenant-check": {"S03.cross-tenant-negatives"},
    "graphile-starter/definer-returns-other-tenant": {"S03.cross-tenant-negatives"},
}


def _spec(name: str):
    base, _, variant = name.partition("/")
    return TARGETS / base / ("variants/" + variant if variant else "") / "target.yaml"


def _expected(name: str) -> dict[str, str]:
    clean = dict(CLEAN[name.partition("/")[0]])
    return {i: "failed" if i in VARIANTS.get(name, ()) else s for i, s in clean.items()}


@pytest.fixture(scope="module")
def verdicts(gate_runs):
    return gate_runs({name: _spec(name) for name in [*CLEAN, *VARIANTS]}, set())


@pytest.fixture(scope="module")
def truths():
    with shared_server() as dsn:
        cache = {}

        def truth(name: str):
            if name not in cache:
                script = TARGETS / name.partition("/")[0] / "ground_truth" / "probes.sql"
                cache[name] = ground_truth(dsn, _spec(name), script)
            return cache[name]
        yield truth


@pytest.mark.parametrize("name", [*CLEAN, *VARIANTS])
def test_the_packet_matches_the_ground_truth_item_by_item(verdicts, truths, name):
    """The suite's S03 verdict equals the hand-written probes' verdict on every judged item, and
    both are what the schema (or the variant's mistake) calls for."""
    truth = truths(name)
    assert all(ok == "ok" for _, item, ok, _ in truth.probes if item == "fixture"), truth.output
    verdict = verdicts(name)
    attach_verdict(verdict)
    expected = _expected(name)
    judged_by_truth = {i: s for i, s in expected.items() if s != "not-applicable"}
    assert truth.items == judged_by_truth, truth.output
    packet = {i: verdict.items.get(i) for i in JUDGED}
    assert packet == expected, f"failing tests: {verdict.failing_tests()}\n{verdict.log}"


@pytest.mark.parametrize("name", list(CLEAN))
def test_a_clean_real_schema_is_judged_with_every_probe_executed(verdicts, name):
    """No test of a judged item is skipped on the clean schema: every probe ran (an item the
    target declares unsupported is skipped as not applicable, never met)."""
    verdict = verdicts(name)
    judged = tuple(i for i, s in CLEAN[name].items() if s != "not-applicable")
    assert not verdict.skipped(judged), "skipped tests are never evidence"
    assert verdict.tests.get("S03.cross-tenant-negatives"), "no cross-tenant test ran"
