"""The membership role matrix, through the target adapter (F2-E2, F2-E3), generated from the spec.

The spec's ``membership`` section is the role model: the roles, which role may grant, change or
remove which (``manages``), and the owner role a tenant may never run out of. Suspension is a
capability: a target without it declares ``unsupported: {membership-suspension: reason}`` and
no suspension case is generated. :func:`role_cases` turns the model into cases:

- every role adds a new user as every role (allowed exactly when it manages that role and, if
  the model says who may invite (``invites``), it is one of them);
- every role changes the role of, removes and suspends a member of every role (allowed exactly
  when it manages both the subject's role and the new one);
- the roles in ``may_leave`` (default: all but the owner) may leave, the others may not; the
  last owner can neither leave, be demoted nor suspended (the data layer refuses), which a
  second owner makes possible. With ``primary_owner``, the first owner is the primary owner:
  a second owner may not demote it.

A target without a leave operation declares ``unsupported: {membership-leave: reason}``: no
leave case is generated.

A refusal is a refusal whichever exception the adapter maps it to (``AccessDenied`` or
``InvariantViolated``): the adapter maps a refusal once, by SQLSTATE or type, and the verdict
never hangs on which of the two it chose; a refused change must leave the subject's access as
it was.

Each :class:`RoleCase` runs on a fresh workspace holding its owner, the actor and the subject
(a second member of the actor's role when the subject has it too), and compares what happened with the model: ``allowed``,
``denied`` (:class:`~harness.adapter.AccessDenied`) or ``invariant``
(:class:`~harness.adapter.InvariantViolated`). Every attempt carries its own correlation id, so
the audit trail of that one change can be read back (unless the target declares
``membership-audit`` unsupported): an allowed change must leave audit rows naming the actor and
the correlation id, a refused one must leave none. :func:`access_loss_outcomes` checks that a
suspended, removed or departed member loses access and authority from the next transaction on.

An adapter that does not implement an operation raises ``NotImplementedError``; it propagates,
so the caller can report it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from uuid import UUID

from harness.adapter import AccessDenied, AuditRecord, InvariantViolated
from harness.target import MembershipSpec

__all__ = ["ROLE_CASES", "Leaving", "MembershipAudit", "Memberships", "RoleCase", "RoleOutcome", "Suspension",
           "access_loss_outcomes", "role_cases", "run_role_case"]


@runtime_checkable
class Memberships(Protocol):
    """Capability ``memberships``: the operations the role matrix drives."""

    def create_user(self, email: str) -> UUID: ...

    def create_workspace(self, name: str, owner: UUID) -> UUID: ...

    def add_member(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None: ...

    def change_role(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None: ...

    def remove_member(self, workspace: UUID, actor: UUID, user: UUID, correlation_id: str) -> None: ...

    def leave_workspace(self, workspace: UUID, user: UUID, correlation_id: str) -> None: ...

    def can_access(self, workspace: UUID, user: UUID) -> bool: ...


@runtime_checkable
class Suspension(Protocol):
    """Capability ``membership-suspension``: a member can be suspended without being removed."""

    def set_status(self, workspace: UUID, actor: UUID, user: UUID, status: str, correlation_id: str) -> None: ...


@runtime_checkable
class Leaving(Protocol):
    """Capability ``membership-leave``: a member leaves a workspace by themselves."""

    def leave_workspace(self, workspace: UUID, user: UUID, correlation_id: str) -> None: ...


@runtime_checkable
class MembershipAudit(Protocol):
    """Capability ``membership-audit``: the audit rows one change left, by correlation id."""

    def audit_trail(self, workspace: UUID, correlation_id: str) -> list[AuditRecord]: ...


@dataclass(frozen=True)
class RoleCase:
    actor: str                 # a role of the model; "<owner>2" for the second owner
    action: str                # add / change-role / suspend / remove / leave
    subject: str               # the subject's role, "new" for a user not yet a member, "self"
    expect: str                # allowed / denied / invariant
    role: str | None = None    # the role granted or changed to
    second_owner: bool = False

    @property
    def name(self) -> str:
        to = f" to {self.role}" if self.role else ""
        return f"{self.actor} {self.action} {self.subject}{to}"

    @property
    def last_owner_rule(self) -> bool:
        return self.subject == "self" or self.second_owner


def role_cases(model: MembershipSpec, suspension: bool = True,
               leave: bool = True) -> tuple[RoleCase, ...]:
    """Every case the role model implies (see the module docstring)."""
    cases: list[RoleCase] = []
    actions = ("remove", "suspend") if suspension else ("remove",)
    for actor in model.roles:
        managed = set(model.manages.get(actor, ()))
        cases += [RoleCase(actor, "add", "new", _verdict(model.may_add(actor, role)), role=role)
                  for role in model.roles]
        for subject in model.roles:
            cases += _role_changes(model, actor, subject, managed)
            cases += [RoleCase(actor, action, subject, _verdict(subject in managed))
                      for action in actions]
    others = [r for r in model.roles if r != model.owner_role]
    owner = model.owner_role
    if leave:
        cases += [RoleCase(role, "leave", "self", _verdict(model.leaves(role))) for role in others]
        cases.append(RoleCase(owner, "leave", "self", "invariant"))
    if others:
        cases.append(RoleCase(owner, "change-role", "self", "invariant", role=others[0]))
    if suspension:
        cases.append(RoleCase(owner, "suspend", "self", "invariant"))
    # the positive twins: with a second owner, the first may leave or be demoted (by the second,
    # unless the first is the primary owner, whom only itself may act on)
    if leave:
        second_may_leave = model.may_leave is None or owner in model.may_leave
        cases.append(RoleCase(owner, "leave", "self", _verdict(second_may_leave), second_owner=True))
    if others and owner in model.manages.get(owner, ()):
        cases.append(RoleCase(f"{owner}2", "change-role", owner, _verdict(not model.primary_owner),
                              role=others[0], second_owner=True))
    return tuple(cases)


def _role_changes(model: MembershipSpec, actor: str, subject: str, managed: set[str]) -> list[RoleCase]:
    """One allowed and one refused role change of a member of ``subject``'s role, where they exist."""
    targets = [r for r in model.roles if r != subject]
    allowed = next((r for r in targets if subject in managed and r in managed), None)
    refused = next((r for r in targets if not (subject in managed and r in managed)), None)
    return [RoleCase(actor, "change-role", subject, _verdict(to == allowed), role=to)
            for to in (allowed, refused) if to is not None]


def _verdict(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


ROLE_CASES: tuple[RoleCase, ...] = role_cases(MembershipSpec())


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
        """The role model held: allowed when it should be, refused (however the adapter names
        the refusal) when it should be, and a refusal changed nothing."""
        return (self.observed == "allowed") == (self.expected == "allowed") and \
            not any(p.startswith("state:") for p in self.problems)

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


def _team(adapter: Memberships, model: MembershipSpec, members: set[str]) -> tuple[UUID, dict[str, UUID]]:
    """A fresh workspace: its owner, and one member per key of ``members`` (``admin``, ``owner2``)."""
    tag, owner = uuid.uuid4().hex[:10], model.owner_role
    people = {owner: adapter.create_user(f"{owner}-{tag}@example.test")}
    workspace = adapter.create_workspace(f"role-matrix-{tag}", people[owner])
    for member in sorted(members - {owner}):
        people[member] = adapter.create_user(f"{member}-{tag}@example.test")
        adapter.add_member(workspace, people[owner], people[member], member.removesuffix("2"),
                           f"seed-{member}-{tag}")
    return workspace, people


def run_role_case(adapter: Memberships, case: RoleCase, model: MembershipSpec | None = None, *,
                  audit: bool = True) -> RoleOutcome:
    """Runs one case on a fresh workspace and judges the outcome (and its audit trail)."""
    model = model or MembershipSpec()
    subject_key = f"{case.subject}2" if case.subject == case.actor else case.subject
    members = {case.actor} | ({subject_key} if case.subject not in ("new", "self") else set())
    if case.second_owner:
        members.add(f"{model.owner_role}2")
    workspace, people = _team(adapter, model, members)
    actor = people[case.actor]
    if case.subject == "new":
        subject = adapter.create_user(f"new-{uuid.uuid4().hex[:10]}@example.test")
    elif case.subject == "self":
        subject = actor
    else:
        subject = people[subject_key]
    correlation = f"role-matrix-{uuid.uuid4()}"
    try:
        _act(adapter, case, workspace, actor, subject, correlation)
        observed = "allowed"
    except AccessDenied:
        observed = "denied"
    except InvariantViolated:
        observed = "invariant"
    trail = tuple(adapter.audit_trail(workspace, correlation)) if audit else ()
    problems = []
    if observed == "allowed" and audit:
        if not trail:
            problems.append("audit: the change left no audit row")
        problems += [f"audit: row {r.action} has actor {r.actor_user_id}, not {actor}"
                     for r in trail if r.actor_user_id != actor]
        problems += [f"audit: row {r.action} has correlation_id {r.correlation_id!r}"
                     for r in trail if r.correlation_id != correlation]
    elif observed != "allowed":
        if trail:
            problems.append(f"audit: a refused change left {len(trail)} audit row(s): it half-happened")
        if case.subject != "new" and not adapter.can_access(workspace, subject):
            problems.append("state: the refused change still took the subject's access away")
    if (observed == "allowed") != (case.expect == "allowed"):
        problems.insert(0, f"role model: expected {case.expect}, got {observed}")
    return RoleOutcome(case.name, case.expect, observed, correlation, actor, trail, tuple(problems))


def _act(adapter, case: RoleCase, workspace: UUID, actor: UUID, subject: UUID,
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


def access_loss_outcomes(adapter: Memberships, model: MembershipSpec | None = None,
                         suspension: bool = True, leave: bool = True) -> list[AccessLoss]:
    """A manager suspended, removed, or leaving: no access and no authority in the next transaction.

    The manager is the first role other than the owner that manages someone (the owner itself
    when no other role does); its authority is probed by adding a member of a role it manages.
    """
    model = model or MembershipSpec()
    owner = model.owner_role
    manager = next((r for r in model.roles if r != owner and model.manages.get(r)), None)
    manager_key = manager or f"{owner}2"
    grant = (model.manages.get(manager or owner) or (owner,))[-1]
    ways = [w for w, on in (("suspended by the owner", suspension), ("removed by the owner", True),
                            ("left the workspace", leave and model.leaves(manager or owner))) if on]
    outcomes = []
    for how in ways:
        workspace, people = _team(adapter, model, {manager_key})
        member, tag = people[manager_key], uuid.uuid4().hex[:10]
        if how.startswith("suspended"):
            adapter.set_status(workspace, people[owner], member, "suspended", f"loss-{tag}")
        elif how.startswith("removed"):
            adapter.remove_member(workspace, people[owner], member, f"loss-{tag}")
        else:
            adapter.leave_workspace(workspace, member, f"loss-{tag}")
        newcomer = adapter.create_user(f"after-{tag}@example.test")
        try:
            adapter.add_member(workspace, member, newcomer, grant, f"after-{tag}")
            managed = True
        except AccessDenied:
            managed = False
        outcomes.append(AccessLoss(f"{manager_key} {how}", adapter.can_access(workspace, member), managed))
    return outcomes
