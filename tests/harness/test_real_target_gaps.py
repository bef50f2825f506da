"""The real schemas written by others say what they lack, so their packets say "not applicable".

An adapter without a capability's operations, undeclared in the spec, turns that capability's
items into harness *errors* (:func:`harness.capabilities.require`): right for a user who forgot,
wrong for the vendored real targets, whose packets must read as a user's would. Each real target
declares every capability its adapter lacks under ``unsupported:`` with the product's reason, and
on S07 (retrieval) the packet is NO-GO with every retrieval item not applicable, none an error and
none met: a missing capability is never called GO, and never a leak either.
"""

from __future__ import annotations

import pytest

from harness.capabilities import missing_methods
from harness.families import capabilities
from harness.target import load_target
from tests.bite import TARGETS, run_family, shared_server

REAL = ("basejump", "graphile-starter")


def _undeclared_gaps(name: str) -> dict[str, list[str]]:
    spec = load_target(TARGETS / name / "target.yaml")
    adapter = spec.load_adapter_class()
    gaps = {}
    for capability, protocol in capabilities().items():
        # the membership refinements are asked for only once memberships is (the role suite)
        refinement = capability.startswith("membership-") and "memberships" in spec.unsupported
        if protocol is None or capability in spec.unsupported or refinement:
            continue
        missing = missing_methods(adapter, protocol)
        if missing:
            gaps[capability] = missing
    return gaps


@pytest.mark.parametrize("name", REAL)
def test_a_real_target_declares_every_capability_its_adapter_lacks(name):
    assert _undeclared_gaps(name) == {}


@pytest.mark.parametrize("name", REAL)
def test_a_real_target_declares_the_capabilities_its_spec_does_not_provide(name):
    """Seed data and ORM models come from the spec, not the adapter: each is given or declared,
    never left to turn S01 into a failure of a sound schema."""
    spec = load_target(TARGETS / name / "target.yaml")
    given = {"seed-data": bool(spec.standards.seeds), "models-match": spec.migrations.metadata is not None}
    from_spec = {c for c, protocol in capabilities().items() if protocol is None}
    assert from_spec == set(given), "a new spec-provided capability: say here how a spec gives it"
    assert sorted(c for c in from_spec if not given[c] and c not in spec.unsupported) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
def test_s07_on_a_real_target_without_retrieval_is_not_applicable_and_no_go(name, tmp_path):
    with shared_server() as dsn:
        verdict = run_family("ai", TARGETS / name / "target.yaml", ("S07",), tmp_path, dsn=dsn,
                             pytest_args=("-k", "retriev"))["S07"]
    retrieval = {i["id"]: i for i in verdict.packet["items"] if i.get("capability") == "retrieval"}
    assert retrieval, verdict.log
    for item_id, item in retrieval.items():
        assert item["status"] == "not-applicable", (item_id, item["reason"], verdict.log)
        assert "the target does not support retrieval: " in item["reason"]
    assert "error" not in verdict.items.values(), verdict.items
    assert verdict.decision == "NO-GO"


def test_every_item_the_load_family_feeds_needs_the_api():
    """Every load scenario drives the target's API (``require(adapter, "api")``): a target without
    one gets each load item not applicable with its reason, not missing with "no test ran"."""
    from harness.families import family
    from harness.gates.catalog import load_catalog
    from tests.bite import ROOT

    items = {i.id: i for gate in load_catalog(ROOT / "gates.yaml").gates for i in gate.items}
    assert {i: items[i].capability for i in family("load").items} == \
        dict.fromkeys(family("load").items, "api")
