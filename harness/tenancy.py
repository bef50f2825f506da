"""Binding a transaction to a principal: the one way every family acts for a tenant.

A **principal** is the set of values one transaction needs to act for one tenant: the tenant
id, and whatever else the target's binding names (``{user_id}`` for a system that binds the user
in JWT claims and derives the tenant from memberships, ...). The target spec's ``binding`` says
how to bind one: an optional ``SET LOCAL ROLE`` and settings whose values are templates filled
from the principal. The default binding is one setting (``tenant_setting``) = ``{tenant_id}``.

Everything is transaction-local (``set_config(name, value, true)`` and ``SET LOCAL ROLE``): when
the transaction ends the binding ends with it, and a pooled connection cannot carry one
principal's identity into the next checkout. There is deliberately no session-level variant.

Every harness module binds through :func:`bound` (or :func:`bind` inside an open transaction)
with the spec's ``binding`` and a :class:`Principal`, so a target that binds JWT claims or a
role gets them everywhere. :func:`bound_workspace` (one setting, one workspace id) is only a
shorthand for users' own tests on a target bound by one setting; it goes through the same
helper, and the harness itself does not use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from harness.errors import HarnessError
from harness.target import AnonymousSpec, BindingSpec

__all__ = ["BindingError", "Principal", "bind", "bind_anonymous", "bind_workspace", "bound",
           "bound_anonymous", "bound_workspace", "current_workspace", "render"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class BindingError(HarnessError):
    """A principal lacks a value the target's binding needs."""


@dataclass(frozen=True)
class Principal:
    """The values that let one transaction act for one tenant (``tenant_id`` always)."""

    tenant_id: object
    values: Mapping[str, object] = field(default_factory=dict)   # user_id, email, role, ...
    label: str = ""

    def placeholders(self) -> dict[str, str]:
        return {**{k: "" if v is None else str(v) for k, v in self.values.items()},
                "tenant_id": str(self.tenant_id)}

    def get(self, name: str) -> object | None:
        return self.tenant_id if name == "tenant_id" else self.values.get(name)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.placeholders().items())
        return f"{self.label} ({shown})" if self.label else shown


def render(template: str, principal: Principal, where: str = "binding") -> str:
    """``template`` with every ``{placeholder}`` replaced by the principal's value."""
    values = principal.placeholders()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise BindingError(
                f"{where} needs {{{name}}}, which principal {principal.describe()} does not have: "
                "have the target adapter's create_tenant() return a Principal with it, or bind "
                "only {tenant_id}")
        return values[name]

    return _PLACEHOLDER.sub(fill, template)


def bind(conn: psycopg.Connection, binding: BindingSpec, principal: Principal | None, *,
         role: bool = True) -> None:
    """Binds the *current transaction* to ``principal`` as ``binding`` says.

    ``principal=None`` takes the binding's role (if any) and binds no setting: a request that
    authenticated as nobody. ``role=False`` binds the settings only (seeding as the owner).
    """
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
        raise RuntimeError("bind needs an open transaction; use bound() or conn.transaction() "
                           "so the binding cannot outlive it")
    if role and binding.role is not None:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(binding.role)))
    if principal is None:
        return
    for name, template in binding.settings.items():
        value = render(template, principal, f"binding.settings.{name}")
        conn.execute("select set_config(%s, %s, true)", (name, value))


@contextmanager
def bound(conn: psycopg.Connection, binding: BindingSpec, principal: Principal | None, *,
          role: bool = True) -> Iterator[psycopg.Connection]:
    """A transaction acting for ``principal``; committed on success, rolled back on error."""
    with conn.transaction():
        bind(conn, binding, principal, role=role)
        yield conn


def bind_anonymous(conn: psycopg.Connection, binding: BindingSpec,
                   anonymous: AnonymousSpec | None) -> None:
    """Binds the *current transaction* to the caller with no principal.

    The spec's ``anonymous`` caller when it names one (PostgREST sends an unauthenticated request
    as ``anon``, with its fixed settings); otherwise the binding's role with nothing set.
    """
    if anonymous is None:
        bind(conn, binding, None)
        return
    bind(conn, BindingSpec(settings={}, role=anonymous.role or binding.role), None)
    for name, value in anonymous.settings.items():
        conn.execute("select set_config(%s, %s, true)", (name, value))


@contextmanager
def bound_anonymous(conn: psycopg.Connection, binding: BindingSpec,
                    anonymous: AnonymousSpec | None) -> Iterator[psycopg.Connection]:
    """A transaction acting for nobody (see :func:`bind_anonymous`)."""
    with conn.transaction():
        bind_anonymous(conn, binding, anonymous)
        yield conn


def bind_workspace(conn: psycopg.Connection, setting: str, workspace_id: object,
                   extra: Mapping[str, object] | None = None) -> None:
    """Binds the *current transaction* to ``workspace_id`` (and any extra settings)."""
    settings = {setting: "{tenant_id}"}
    values: dict[str, object] = {}
    for index, (name, value) in enumerate((extra or {}).items()):
        settings[name] = f"{{extra_{index}}}"
        values[f"extra_{index}"] = "" if value is None else value
    bind(conn, BindingSpec(settings=settings), Principal(workspace_id, values))


@contextmanager
def bound_workspace(conn: psycopg.Connection, setting: str, workspace_id: object,
                    extra: Mapping[str, object] | None = None) -> Iterator[psycopg.Connection]:
    """A transaction bound to ``workspace_id`` through ``setting`` alone; committed on success,
    rolled back on error. A shorthand for a target bound by one setting: with the spec at hand,
    ``bound(conn, spec.binding, Principal(workspace_id))`` binds whatever the target needs."""
    with conn.transaction():
        bind_workspace(conn, setting, workspace_id, extra)
        yield conn


def current_workspace(conn: psycopg.Connection, setting: str) -> str | None:
    value = conn.execute("select current_setting(%s, true)", (setting,)).fetchone()[0]
    return value or None
