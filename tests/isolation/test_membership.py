"""The membership role matrix through an adapter, on the reference and on a broken adapter."""

from __future__ import annotations

import pytest

from harness.isolation import ROLE_CASES, access_loss_outcomes, run_role_case
from reference_impl.variants.adapters import ViewerCanWriteAdapter

pytestmark = pytest.mark.slow


def test_the_reference_adapter_passes_every_case(target_adapter):
    outcomes = [run_role_case(target_adapter, case) for case in ROLE_CASES]
    assert [o.evidence() for o in outcomes if o.problems] == []
    assert {o.observed for o in outcomes} == {"allowed", "denied", "invariant"}
    assert all(o.passed for o in access_loss_outcomes(target_adapter))


def test_an_adapter_that_skips_the_role_check_is_caught(fresh_database):
    adapter = ViewerCanWriteAdapter(fresh_database)
    viewer_adds = next(c for c in ROLE_CASES if c.actor == "viewer" and c.action == "add"
                       and c.role == "viewer")
    outcome = run_role_case(adapter, viewer_adds)
    assert (outcome.expected, outcome.observed, outcome.role_ok) == ("denied", "allowed", False)
    assert outcome.audit_ok  # the change it wrongly allowed is at least audited
    title, text = outcome.evidence()
    assert title == "viewer add new to viewer" and "role model: expected denied, got allowed" in text


def test_the_role_matrix_comes_from_the_spec_role_model():
    """An owner/member product without suspension gets its own cases, and no admin or viewer."""
    from harness.isolation import role_cases
    from harness.target import MembershipSpec

    model = MembershipSpec(roles=("owner", "member"), owner_role="owner",
                           manages={"owner": ("owner", "member"), "member": ()})
    cases = {c.name: c.expect for c in role_cases(model, suspension=False)}
    assert not any("admin" in name or "viewer" in name or "suspend" in name for name in cases)
    assert cases["owner add new to member"] == "allowed"
    assert cases["member add new to member"] == "denied"
    assert cases["owner change-role member to owner"] == "allowed"
    assert cases["member remove owner"] == "denied"
    assert cases["member leave self"] == "allowed"
    assert cases["owner leave self"] in ("invariant", "allowed")  # the last owner, and the twin
    assert ("owner change-role self to member", "invariant") in {
        (c.name, c.expect) for c in role_cases(model, suspension=False)}
    assert any(c.second_owner and c.expect == "allowed" for c in role_cases(model, suspension=False))
