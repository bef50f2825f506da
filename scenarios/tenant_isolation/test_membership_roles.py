"""The membership role matrix through the target adapter (S03.role-matrix, S03.membership-audit,
S02.unauthorized-access-negatives): who may change whose membership, the last-owner rule, the
audit trail of every change, and access lost the moment a member is suspended or removed.

The cases are generated from the spec's ``membership`` role model. A target without these
operations declares it (``unsupported: {memberships: reason}``, ``membership-audit``,
``membership-suspension``): its items are not applicable, never met.
"""

from __future__ import annotations

import uuid

import pytest

from harness.capabilities import require
from harness.evidence import attach_json
from harness.isolation import IsolationFailure, access_loss_outcomes, role_cases, run_role_case
from harness.isolation.owner_race import owner_races
from scenarios.tenant_isolation.reporting import attach_probes


def _suspension(spec) -> bool:
    return "membership-suspension" not in spec.unsupported


def _leave(spec) -> bool:
    return "membership-leave" not in spec.unsupported


@pytest.fixture(scope="module")
def memberships(module_adapter, harness_target):
    adapter = require(module_adapter, "memberships", harness_target)
    if _suspension(harness_target):
        require(adapter, "membership-suspension", harness_target)
    return adapter


@pytest.fixture(scope="module")
def role_outcomes(memberships, harness_target):
    """Every case of the spec's role model, each run once on its own workspace."""
    model = harness_target.membership
    audit = "membership-audit" not in harness_target.unsupported
    if audit:
        require(memberships, "membership-audit", harness_target)
    cases = role_cases(model, _suspension(harness_target), _leave(harness_target))
    return {case: run_role_case(memberships, case, model, audit=audit) for case in cases}


def _judge(outcomes, what, ok) -> None:
    __tracebackhide__ = True
    attach_json([{"case": o.case, "expected": o.expected, "observed": o.observed,
                  "audit rows": len(o.audit), "problems": list(o.problems)} for o in outcomes], what)
    assert outcomes, f"{what}: the role model generated no case"
    failed = [o for o in outcomes if not ok(o)]
    if failed:
        raise IsolationFailure(f"{what}: {len(failed)} of {len(outcomes)} cases wrong",
                               [o.evidence() for o in failed])


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S1")
@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S2")
def test_each_role_manages_exactly_what_the_role_model_allows(role_outcomes, harness_target, request):
    """Every role adds, re-roles, removes (and suspends, where the target has suspension) members
    of every role: allowed exactly where the spec's ``membership`` model says so (``manages``,
    ``invites``), and a refused change leaves the subject's access as it was. Where the spec names
    the tenant root's owner column (``tenancy.root_owner``), no principal may create a tenant
    naming another principal as its owner. Feeds S03.role-matrix."""
    model = harness_target.membership
    attach_json({"roles": model.roles, "manages": model.manages, "invites": model.invites,
                 "may_leave": model.may_leave, "primary_owner": model.primary_owner,
                 "suspension": _suspension(harness_target), "leave": _leave(harness_target)},
                "role model (from the spec)")
    cases = [o for c, o in role_outcomes.items() if not c.last_owner_rule and c.action != "leave"]
    ownership = []
    if harness_target.tenancy.root_owner is not None:
        ownership = request.getfixturevalue("tenant_matrix").ownership()
        attach_probes("a tenant root naming another principal as its owner", ownership)
    wrong = [o for o in cases if not o.role_ok]
    failed = [p for p in ownership if not p.passed]
    if wrong or failed:
        raise IsolationFailure(f"role attempts: {len(wrong)} of {len(cases)} cases wrong; "
                               f"{len(failed)} tenant(s) created naming another owner",
                               [o.evidence() for o in wrong] + [p.evidence() for p in failed])
    _judge(cases, "role attempts", lambda o: o.role_ok)


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S3")
def test_the_last_owner_can_neither_leave_nor_be_demoted(role_outcomes):
    """The last owner cannot leave, be suspended or demote themselves (the data layer refuses);
    with a second owner both become possible (unless the model names a primary owner, whom a
    second owner may not demote), so the refusal is not vacuous; the roles in ``may_leave`` may
    leave, the others may not. Feeds S03.role-matrix."""
    cases = [o for c, o in role_outcomes.items() if c.last_owner_rule]
    _judge(cases, "owner and leave attempts", lambda o: o.role_ok)


@pytest.mark.evidence("S03.membership-audit", story="F2-E2-S3")
@pytest.mark.evidence("S03.membership-audit", story="F2-E3-S3")
def test_every_membership_change_is_audited_with_actor_and_correlation_id(memberships, role_outcomes,
                                                                         harness_target):
    """Every allowed change leaves audit rows carrying the acting user and the request's
    correlation id; every refused change leaves none (nothing half-happened). Feeds
    S03.membership-audit."""
    require(memberships, "membership-audit", harness_target)
    outcomes = list(role_outcomes.values())
    assert any(o.observed == "allowed" for o in outcomes), "no change was allowed: nothing was audited"
    _judge(outcomes, "audit trail per change", lambda o: o.audit_ok)


@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S3")
@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S2")
def test_a_suspended_or_removed_member_loses_access_in_the_next_transaction(memberships, harness_target):
    """A member who manages others and is suspended (where the target has suspension), removed or
    leaves has no access and no authority (cannot add a member) from the very next transaction.
    Feeds S02.unauthorized-access-negatives and S03.role-matrix."""
    outcomes = access_loss_outcomes(memberships, harness_target.membership, _suspension(harness_target),
                                    _leave(harness_target))
    attach_json([{"how": o.how, "can_access": o.still_has_access, "could manage": o.can_still_manage}
                 for o in outcomes], "access after losing membership")
    failed = [o for o in outcomes if not o.passed]
    if failed:
        raise IsolationFailure(f"{len(failed)} former member(s) kept access", [o.evidence() for o in failed])


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S3")
def test_owners_stepping_down_at_once_leave_the_workspace_an_owner(memberships, harness_target):
    """Several owners of one workspace demote themselves at the same moment (a barrier releases
    them together): at least one is refused, so the last-owner rule holds under concurrency, not
    only one change at a time (a rule that reads the other owners without serialising owner
    changes lets every one of them go). Feeds S03.role-matrix."""
    races = owner_races(memberships, harness_target.membership)
    attach_json([{"workspace": str(r.workspace), "answers": list(r.answers)} for r in races],
                "owners stepping down together")
    failed = [r for r in races if not r.passed]
    if failed:
        raise IsolationFailure(f"{len(failed)} of {len(races)} races left a workspace without an owner "
                               "(or the target failed to answer)", [r.evidence() for r in failed])


@pytest.mark.evidence("S03.role-matrix", story="F2-E2-S1")
def test_a_person_belongs_to_several_workspaces_at_once(memberships, harness_target):
    """A person added to two workspaces by their owners, who then creates a third, is a member of
    all three at once: a membership keyed by the person alone (one workspace per person) refuses
    the second. Feeds S03.role-matrix."""
    model = harness_target.membership
    role = next((r for r in model.roles if r != model.owner_role and model.may_add(model.owner_role, r)),
                model.owner_role)
    tag = uuid.uuid4().hex[:8]
    person = memberships.create_user(f"several-{tag}@members.test")
    answers: dict[str, str] = {}
    workspaces = []
    for i in range(2):
        owner = memberships.create_user(f"owner-{i}-{tag}@members.test")
        workspace = memberships.create_workspace(f"several-{i}-{tag}", owner)
        workspaces.append(workspace)
        try:
            memberships.add_member(workspace, owner, person, role, f"several-{i}-{tag}")
            answers[str(workspace)] = f"added as {role}"
        except Exception as exc:   # the target's refusal is the finding, with its words
            answers[str(workspace)] = f"refused: {type(exc).__name__}: {str(exc)[:200]}"
    try:
        own = memberships.create_workspace(f"several-own-{tag}", person)
        workspaces.append(own)
        answers[str(own)] = "created as owner"
    except Exception as exc:
        answers["a workspace of their own"] = f"refused: {type(exc).__name__}: {str(exc)[:200]}"
    access = {str(w): memberships.can_access(w, person) for w in workspaces}
    attach_json({"answers": answers, "can access": access}, "one person, several workspaces")
    lost = [w for w, ok in access.items() if not ok] + [w for w, a in answers.items() if a.startswith("refused")]
    if lost:
        raise IsolationFailure(f"a person belongs to {sum(access.values())} of 3 workspaces at once",
                               [(w, answers.get(w, "no access")) for w in lost])
