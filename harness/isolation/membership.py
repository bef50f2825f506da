"""The membership role matrix, through the target adapter (F2-E2, F2-E3).

Each :class:`RoleCase` builds a fresh workspace with an owner, an admin, a member and a viewer,
has one of them attempt one membership change on another, and compares what happened with what
the role model says: ``allowed``, ``denied`` (:class:`~harness.adapter.AccessDenied`) or
``invariant`` (:class:`~harness.adapter.InvariantViolated`, e.g. the last owner leaving). Every
attempt carries its own correlation id, so the audit trail of that one change can be read back:
an allowed change must leave audit rows naming the actor and the correlation id, a refused one
must leave none. :func:`access_loss_outcomes` checks that a suspended or removed member loses
access, and their authority, from the next transaction on.

An adapter that does not implement an operation raises ``NotImplementedError``; it propagates,
so the caller can skip with the reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

from harness.adapter import AccessDenied, AuditRecord, InvariantViolated, TargetAdapter

__all__ = ["ROLE_CASES", "RoleCase", "RoleOutcome", "access_loss_outcomes", "run_role_case"]


@dataclass(frozen=True)
class RoleCase:
    actor: str                 # owner / admin / member / viewer / owner2 (a second owner)
    action: str                # add / change-role / suspend / remove / leave
    subject: str               # the subject's role, "new" for a user not yet a member, "self"
    expect: str                # allowed / denied / invariant
    role: str | None = None    # the role granted or changed to
    second_owner: bool = False

    @property
    def name(self) -> str:
        to = f" to {self.role}" if self.role else ""
        return f"{self.actor} {self.action} {self.subject}{to}"


ROLE_CASES: tuple[RoleCase, ...] = (
    # a viewer writes nothing
    RoleCase("viewer", "add", "new", "denied", role="viewer"),
    RoleCase("viewer", "change-role", "member", "denied", role="viewer"),
    RoleCase("viewer", "suspend", "member", "denied"),
    RoleCase("viewer", "remove", "member", "denied"),
    # a member manages no one
    RoleCase("member", "add", "new", "denied", role="viewer"),
    RoleCase("member", "change-role", "viewer", "denied", role="member"),
    RoleCase("member", "remove", "viewer", "denied"),
    # an admin manages admins, members and viewers, never an owner
    RoleCase("admin", "add", "new", "allowed", role="member"),
    RoleCase("admin", "change-role", "member", "allowed", role="viewer"),
    RoleCase("admin", "suspend", "member", "allowed"),
    RoleCase("admin", "remove", "viewer", "allowed"),
    RoleCase("admin", "add", "new", "denied", role="owner"),
    RoleCase("admin", "change-role", "member", "denied", role="owner"),
    RoleCase("admin", "remove", "owner", "denied"),
    RoleCase("admin", "suspend", "owner", "denied"),
    RoleCase("admin", "change-role", "owner", "denied", role="admin"),
    # the owner manages everyone, but the last owner can neither leave nor be demoted
    RoleCase("owner", "add", "new", "allowed", role="admin"),
    RoleCase("owner", "change-role", "admin", "allowed", role="owner"),
    RoleCase("owner", "remove", "admin", "allowed"),
    RoleCase("owner", "leave", "self", "invariant"),
    RoleCase("owner", "change-role", "self", "invariant", role="admin"),
    RoleCase("owner", "suspend", "self", "invariant"),
    # ... which a second owner makes possible (the positive twin of the last-owner rule)
    RoleCase("owner", "leave", "self", "allowed", second_owner=True),
    RoleCase("owner2", "change-role", "owner", "allowed", role="member", second_owner=True),
    # anyone may leave
    RoleCase("viewer", "leave", "self", "allowed"),
)


@dataclass(frozen=True)
class RoleOutcome:
    case: str
    expected: str
    observed: str
    correlation_id: str
    actor: UUID
    audit: tuple[AuditRecord, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def role_ok(self) -> bool:
        """The role model held: the expected outcome, and a refusal changed nothing."""
        return self.observed == self.expected and not any(p.startswith("state:") for p in self.problems)

    @property
    def audit_ok(self) -> bool:
        return not any(p.startswith("audit:") for p in self.problems)

    def evidence(self) -> tuple[str, str]:
        lines = [f"expected: {self.expected}", f"observed: {self.observed}",
                 f"actor: {self.actor}", f"correlation_id: {self.correlation_id}",
                 f"audit rows for it: {len(self.audit)}"]
        lines += [f"  {r.action} actor={r.actor_user_id} subject={r.subject_user_id} "
                  f"correlation_id={r.correlation_id}" for r in self.audit]
        lines += [f"problem: {p}" for p in self.problems]
        return self.case, "\n".join(lines)


def _team(adapter: TargetAdapter, second_owner: bool) -> tuple[UUID, dict[str, UUID]]:
    tag = uuid.uuid4().hex[:10]
    people = {"owner": adapter.create_user(f"owner-{tag}@example.test")}
    workspace = adapter.create_workspace(f"role-matrix-{tag}", people["owner"])
    roles = ["admin", "member", "viewer"] + (["owner2"] if second_owner else [])
    for role in roles:
        people[role] = adapter.create_user(f"{role}-{tag}@example.test")
        adapter.add_member(workspace, people["owner"], people[role], role.rstrip("2"), f"seed-{role}-{tag}")
    return workspace, people


def run_role_case(adapter: TargetAdapter, case: RoleCase) -> RoleOutcome:
    """Runs one case on a fresh workspace and judges the outcome and its audit trail."""
    workspace, people = _team(adapter, case.second_owner)
    actor = people[case.actor]
    if case.subject == "new":
        subject = adapter.create_user(f"new-{uuid.uuid4().hex[:10]}@example.test")
    else:
        subject = actor if case.subject == "self" else people[case.subject]
    correlation = f"role-matrix-{uuid.uuid4()}"
    try:
        _act(adapter, case, workspace, actor, subject, correlation)
        observed = "allowed"
    except AccessDenied:
        observed = "denied"
    except InvariantViolated:
        observed = "invariant"
    trail = tuple(adapter.audit_trail(workspace, correlation))
    problems = []
    if observed == "allowed":
        if not trail:
            problems.append("audit: the change left no audit row")
        problems += [f"audit: row {r.action} has actor {r.actor_user_id}, not {actor}"
                     for r in trail if r.actor_user_id != actor]
        problems += [f"audit: row {r.action} has correlation_id {r.correlation_id!r}"
                     for r in trail if r.correlation_id != correlation]
    else:
        if trail:
            problems.append(f"audit: a refused change left {len(trail)} audit row(s): it half-happened")
        if case.subject != "new" and not adapter.can_access(workspace, subject):
            problems.append("state: the refused change still took the subject's access away")
    if observed != case.expect:
        problems.insert(0, f"role model: expected {case.expect}, got {observed}")
    return RoleOutcome(case.name, case.expect, observed, correlation, actor, trail, tuple(problems))


def _act(adapter: TargetAdapter, case: RoleCase, workspace: UUID, actor: UUID, subject: UUID,
         correlation: str) -> None:
    if case.action == "add":
        adapter.add_member(workspace, actor, subject, case.role or "member", correlation)
    elif case.action == "change-role":
        adapter.change_role(workspace, actor, subject, case.role or "member", correlation)
    elif case.action == "suspend":
        adapter.set_status(workspace, actor, subject, "suspended", correlation)
    elif case.action == "remove":
        adapter.remove_member(workspace, actor, subject, correlation)
    elif case.action == "leave":
        adapter.leave_workspace(workspace, subject, correlation)
    else:
        raise ValueError(f"unknown action {case.action!r}")


@dataclass(frozen=True)
class AccessLoss:
    how: str
    still_has_access: bool
    can_still_manage: bool

    @property
    def passed(self) -> bool:
        return not self.still_has_access and not self.can_still_manage

    def evidence(self) -> tuple[str, str]:
        return self.how, (f"can_access in the next transaction: {self.still_has_access} (expected False)\n"
                          f"could still add a member: {self.can_still_manage} (expected False)")


def access_loss_outcomes(adapter: TargetAdapter) -> list[AccessLoss]:
    """An admin suspended, removed, or leaving: no access and no authority in the next transaction."""
    outcomes = []
    for how in ("suspended by the owner", "removed by the owner", "left the workspace"):
        workspace, people = _team(adapter, second_owner=False)
        admin, tag = people["admin"], uuid.uuid4().hex[:10]
        if how.startswith("suspended"):
            adapter.set_status(workspace, people["owner"], admin, "suspended", f"loss-{tag}")
        elif how.startswith("removed"):
            adapter.remove_member(workspace, people["owner"], admin, f"loss-{tag}")
        else:
            adapter.leave_workspace(workspace, admin, f"loss-{tag}")
        newcomer = adapter.create_user(f"after-{tag}@example.test")
        try:
            adapter.add_member(workspace, admin, newcomer, "viewer", f"after-{tag}")
            managed = True
        except AccessDenied:
            managed = False
        outcomes.append(AccessLoss(f"admin {how}", adapter.can_access(workspace, admin), managed))
    return outcomes
