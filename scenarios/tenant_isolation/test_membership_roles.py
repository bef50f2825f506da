"""The membership role matrix through the target adapter (S03.role-matrix, S03.membership-audit,
S02.unauthorized-access-negatives): who may change whose membership, the last-owner rule, the
audit trail of every change, and access lost the moment a member is suspended or removed."""

from __future__ import annotations

import pytest

from harness.isolation import ROLE_CASES, IsolationFailure, access_loss_outcomes, run_role_case
from scenarios.tenant_isolation.reporting import attach_json


@pytest.fixture(scope="module")
def role_outcomes(module_adapter):
    """Every role case, run once on its own workspace through the adapter."""
    if module_adapter is None:
        pytest.skip("the target declares no adapter: behavioural checks cannot run "
                    "(a skipped check is never evidence)")
    try:
        return {case: run_role_case(module_adapter, case) for case in ROLE_CASES}
    except NotImplementedError as exc:
        pytest.skip(f"the adapter does not implement a membership operation: {exc}")


def _judge(outcomes, what, ok) -> None:
    __tracebackhide__ = True
    attach_json(what, [{"case": o.case, "expected": o.expected, "observed": o.observed,
                        "audit rows": len(o.audit), "problems": list(o.problems)} for o in outcomes])
    failed = [o for o in outcomes if not ok(o)]
    if failed:
        raise IsolationFailure(f"{what}: {len(failed)} of {len(outcomes)} cases wrong",
                               [o.evidence() for o in failed])


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S1")
def test_viewers_and_members_cannot_change_memberships(role_outcomes):
    """A viewer writes nothing and a member manages no one: every add, role change, suspension and
    removal they attempt is denied and leaves no trace. Feeds S03.role-matrix."""
    cases = [o for c, o in role_outcomes.items() if c.actor in ("viewer", "member") and c.action != "leave"]
    _judge(cases, "viewer and member attempts", lambda o: o.role_ok)


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S2")
def test_admins_manage_members_but_never_an_owner(role_outcomes):
    """An admin may add, re-role, suspend and remove admins, members and viewers, and may neither grant
    ownership nor remove, suspend or demote an owner. Feeds S03.role-matrix."""
    cases = [o for c, o in role_outcomes.items() if c.actor == "admin"]
    _judge(cases, "admin attempts", lambda o: o.role_ok)


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S3")
def test_the_last_owner_can_neither_leave_nor_be_demoted(role_outcomes):
    """The last active owner cannot leave, be suspended or demote themselves (the data layer
    refuses); with a second owner, both become possible, so the refusal is not vacuous. Feeds
    S03.role-matrix."""
    cases = [o for c, o in role_outcomes.items() if c.actor in ("owner", "owner2") or c.action == "leave"]
    _judge(cases, "owner attempts", lambda o: o.role_ok)


@pytest.mark.evidence("S03.membership-audit", story="F2-E2-S3")
@pytest.mark.evidence("S03.membership-audit", story="F2-E3-S3")
def test_every_membership_change_is_audited_with_actor_and_correlation_id(role_outcomes):
    """Every allowed change leaves audit rows carrying the acting user and the request's
    correlation id; every refused change leaves none (nothing half-happened). Feeds
    S03.membership-audit."""
    outcomes = list(role_outcomes.values())
    assert any(o.observed == "allowed" for o in outcomes), "no change was allowed: nothing was audited"
    _judge(outcomes, "audit trail per change", lambda o: o.audit_ok)


@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S3")
@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S2")
def test_a_suspended_or_removed_member_loses_access_in_the_next_transaction(module_adapter):
    """An admin who is suspended, removed or leaves has no access and no authority (cannot add a
    member) from the very next transaction. Feeds S02.unauthorized-access-negatives and
    S03.role-matrix."""
    if module_adapter is None:
        pytest.skip("the target declares no adapter (a skipped check is never evidence)")
    try:
        outcomes = access_loss_outcomes(module_adapter)
    except NotImplementedError as exc:
        pytest.skip(f"the adapter does not implement a membership operation: {exc}")
    attach_json("access after losing membership", [
        {"how": o.how, "can_access": o.still_has_access, "could manage": o.can_still_manage} for o in outcomes])
    failed = [o for o in outcomes if not o.passed]
    if failed:
        raise IsolationFailure(f"{len(failed)} former member(s) kept access", [o.evidence() for o in failed])
