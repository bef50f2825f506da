"""The seeded tenants the matrix runs between: A and B, and C where the target has memberships.

Each :class:`SeededTenant` holds its principal, the rows seeded for it in every tenant table,
and every tenant it belongs to (read through :class:`~harness.isolation.principals.TenantSets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.core.rows import RowFactory, SeededRow
from harness.isolation.principals import TenantSets
from harness.target import MembershipSpec
from harness.tenancy import BindingError, Principal, render

__all__ = ["SeededTenant", "seed_tenants"]


@dataclass
class SeededTenant:
    label: str
    tenant: object
    rows: dict[str, list[SeededRow]] = field(default_factory=dict)
    principal: Principal | None = None
    tenants: frozenset[str] = frozenset()    # every tenant it belongs to (its own at least)

    def __post_init__(self) -> None:
        if self.principal is None:
            self.principal = Principal(self.tenant, label=self.label)
        self.tenants = self.tenants | {str(self.tenant)}

    def describe(self, column: str) -> str:
        extra = {k: v for k, v in self.principal.placeholders().items() if k != "tenant_id"}
        shown = "".join(f", {k}={v}" for k, v in extra.items())
        return f"{self.label} ({column}={self.tenant}{shown})"


def seed_tenants(factory: RowFactory, labels: Sequence[str] = ("A", "B"),
                 rows_per_table: int = 2, *, sets: TenantSets | None = None,
                 membership: MembershipSpec | None = None) -> dict[str, SeededTenant]:
    """New tenants with ``rows_per_table`` rows in every tenant table (the root has one each).

    With a membership table (``membership.table``), a third tenant C is seeded and A's principal
    joins C's tenant (a row of that table, as the product's members are), so A belongs to two
    tenants and shares one with C. ``sets`` then reads each principal's tenants.
    """
    root = factory.catalog.tenant_root
    shared = membership is not None and membership.table is not None and "C" not in labels
    seeded = {}
    for label in (*labels, "C") if shared else labels:
        principal = factory.new_principal(label)
        tenant = SeededTenant(label, principal.tenant_id, principal=principal)
        if root is not None:
            tenant.rows[root.qualified] = [factory.root_row(principal.tenant_id)]
        for table in factory.catalog.tenant_tables:
            if root is None or table.qualified != root.qualified:
                tenant.rows[table.qualified] = [factory.insert(table, tenant.tenant)
                                                for _ in range(rows_per_table)]
        seeded[label] = tenant
    if shared:
        try:
            member = {membership.user_column: render(membership.user_value, seeded["A"].principal,
                                                     "membership.user_value")}
        except BindingError:
            member = None   # a principal without a user: nobody to add to C's tenant
        if member is not None:
            factory.insert(membership.table, seeded["C"].tenant, fixed=member)
    if sets is not None:
        for tenant in seeded.values():
            tenant.tenants = sets.of(factory.conn, tenant.principal) | {str(tenant.tenant)}
    return seeded
