"""Which tenants a principal belongs to: "another tenant" is one it is not a member of.

Real products let one user belong to many tenants (a personal account from sign-up and every
team they join), so a principal's visible set is read from the target, never assumed to be one
tenant: the spec's membership table (``membership.table``, its user and tenant columns, the user
column holding the principal's ``membership.user_value``), else the adapter's
``tenants_of(principal)``, else just the principal's own tenant (a binding that names one tenant
per transaction, as ``app.workspace_id`` does).

The table is read through the connection given (the owner, which sees every row), so a check
running inside an uncommitted transaction sees the memberships it has just made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import psycopg
from psycopg import sql

from harness.target import TargetSpec
from harness.tenancy import BindingError, Principal, render

__all__ = ["TenantSets", "tenant_sets"]


class TenantSets:
    """``of(conn, principal)``: the ids (as text) of every tenant ``principal`` belongs to."""

    def __init__(self, spec: TargetSpec, adapter: object | None = None) -> None:
        self.membership = spec.membership
        self.tenant_column = spec.membership.tenant_column or spec.tenancy.column
        hook = getattr(adapter, "tenants_of", None)
        self._adapter: Callable[[Principal], Iterable[object]] | None = hook if callable(hook) else None

    @property
    def many(self) -> bool:
        """Whether a principal may belong to more than its own tenant on this target."""
        return self.membership.table is not None or self._adapter is not None

    def of(self, conn: psycopg.Connection, principal: Principal) -> frozenset[str]:
        found = {str(principal.tenant_id)} if principal.tenant_id is not None else set()
        if self.membership.table is not None:
            try:
                user = render(self.membership.user_value, principal, "membership.user_value")
            except BindingError:
                user = None
            if user is not None:
                schema, _, name = self.membership.table.rpartition(".")
                table = sql.Identifier(schema, name) if schema else sql.Identifier(name)
                found |= {r[0] for r in conn.execute(sql.SQL("select {}::text from {} where {}::text = %s").format(
                    sql.Identifier(self.tenant_column), table, sql.Identifier(self.membership.user_column)),
                    (user,)).fetchall()}
        if self._adapter is not None:
            found |= {str(t) for t in self._adapter(principal)}
        return frozenset(found)


def tenant_sets(spec: TargetSpec, adapter: object | None = None) -> TenantSets:
    return TenantSets(spec, adapter)
