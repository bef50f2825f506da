"""The target adapter: the business operations behavioural scenarios need, as a Protocol.

A target implements the methods it supports. For an operation it does not have, the adapter
raises :class:`harness.Unsupported` with the reason (``NotImplementedError`` counts the same):
the test is **not applicable** when the spec declares that capability under ``unsupported:``,
and an **error** naming the missing declaration when it does not (:mod:`harness.capabilities`
holds the one contract). Each method is small and named after the business operation. Every write
takes the acting user and a correlation id, because every such change must be traceable.

Failures a scenario expects are typed: :class:`AccessDenied` when the actor may not do it,
:class:`InvariantViolated` when the data layer refuses (e.g. the last owner leaving).

An adapter may also implement :class:`RowOverrides` (``row_overrides(table)``): values the
isolation suite's row factory cannot infer from the catalog, and :class:`TenantCreator`
(``create_tenant(label) -> Principal``): a new tenant made the product's own way (a user signs
up, creates an account, becomes its owner), with the values the spec's ``binding`` needs. Both
are optional, looked up with ``getattr``, and not part of :class:`TargetAdapter`, so adapters
without them keep working; without ``create_tenant`` the harness inserts the tenant's root row
itself and the principal is just ``{tenant_id}``. An adapter that keeps connections open across
operations (as a service keeps a pool) may define ``close()``: the ``target_adapter`` and
``module_adapter`` fixtures call it once their test or module is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from harness.tenancy import Principal

__all__ = ["AccessDenied", "AuditRecord", "InvariantViolated", "RowOverrides", "TargetAdapter",
           "TenantCreator"]


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


@runtime_checkable
class RowOverrides(Protocol):
    """Optional: column values for rows the isolation suite seeds in ``table``.

    Return ``{column: value}`` (a value, or a zero-argument callable for a fresh one each row)
    for what the catalog cannot tell: a check across columns, a type without a generic value,
    or business meaning (e.g. seed memberships as plain members, not owners). ``table`` is the
    bare table name; return ``{}`` for tables that need nothing.
    """

    def row_overrides(self, table: str) -> Mapping[str, object]: ...


@runtime_checkable
class TenantCreator(Protocol):
    """Optional: a new tenant, and the principal that acts for it.

    ``tenant_id`` is the new root row's key; ``values`` holds whatever else the spec's binding
    names (``{"user_id": ...}`` for a binding that puts the user in JWT claims).
    """

    def create_tenant(self, label: str) -> Principal: ...
