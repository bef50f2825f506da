"""The target adapter: the business operations behavioural scenarios need, as a Protocol.

A target implements the methods it supports; a scenario that needs one the target does not
implement (it raises :class:`NotImplementedError`) skips with the reason, and a skipped check
is never evidence. Each method is small and named after the business operation. Every write
takes the acting user and a correlation id, because every such change must be traceable.

Failures a scenario expects are typed: :class:`AccessDenied` when the actor may not do it,
:class:`InvariantViolated` when the data layer refuses (e.g. the last owner leaving).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

__all__ = ["AccessDenied", "AuditRecord", "InvariantViolated", "TargetAdapter"]


class AccessDenied(Exception):
    """The acting user is not allowed to perform the operation in that workspace."""


class InvariantViolated(Exception):
    """The data layer refused a change that would break one of its invariants."""


@dataclass(frozen=True)
class AuditRecord:
    action: str
    actor_user_id: UUID | None
    subject_user_id: UUID | None
    correlation_id: str
    details: dict[str, Any]


@runtime_checkable
class TargetAdapter(Protocol):
    # -- identities and workspaces (seeding) --
    def create_user(self, email: str) -> UUID: ...

    def create_workspace(self, name: str, owner: UUID) -> UUID: ...

    # -- memberships (F2-E2, F2-E3) --
    def add_member(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None: ...

    def change_role(self, workspace: UUID, actor: UUID, user: UUID, role: str, correlation_id: str) -> None: ...

    def set_status(self, workspace: UUID, actor: UUID, user: UUID, status: str, correlation_id: str) -> None: ...

    def remove_member(self, workspace: UUID, actor: UUID, user: UUID, correlation_id: str) -> None: ...

    def leave_workspace(self, workspace: UUID, user: UUID, correlation_id: str) -> None: ...

    def can_access(self, workspace: UUID, user: UUID) -> bool: ...

    def audit_trail(self, workspace: UUID, correlation_id: str) -> list[AuditRecord]: ...
