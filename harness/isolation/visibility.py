"""Exact visibility across many tenants at once: the property behind every matrix case.

:func:`exact_visibility` seeds any number of tenants with any number of rows per tenant table,
switches to the app role, binds each tenant in turn and checks that every tenant table shows it
exactly its own rows: every visible row carries its tenant id, and every row seeded for it is
visible. Everything happens in one transaction on one connection that is rolled back at the
end, so a property-based test can call it for many generated plans quickly and leave nothing
behind. ``SET LOCAL ROLE`` makes the app role the current user, which is what RLS looks at, so
the checks are as strict as over an app-role login; each tenant is then bound through
:func:`harness.tenancy.bind` with its principal (the binding's role and settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg
from psycopg import sql

from harness.core.rows import RowFactory
from harness.isolation.matrix import Probe
from harness.isolation.principals import TenantSets
from harness.target import BindingSpec
from harness.tenancy import bind

__all__ = ["exact_visibility"]


def exact_visibility(conn: psycopg.Connection, factory: RowFactory, app_role: str,
                     binding: str | BindingSpec, plan: Sequence[Mapping[str, int]],
                     sets: TenantSets | None = None) -> list[Probe]:
    """One :class:`Probe` per (tenant, tenant table); ``plan[i]`` maps table -> rows for tenant i.

    ``conn`` is the factory's connection (the owner, who may ``SET ROLE`` to the app role).
    ``sets`` says which tenants each principal belongs to (default: its own tenant only); a row
    of any of them is its own.
    """
    catalog = factory.catalog
    binding = BindingSpec.for_setting(binding) if isinstance(binding, str) else binding
    root = catalog.tenant_root
    probes: list[Probe] = []
    with conn.transaction(force_rollback=True):
        tenants = []
        for counts in plan:
            principal = factory.new_principal()
            tenant = principal.tenant_id
            seeded = {t: {r.key for r in (factory.insert(t, tenant) for _ in range(n))}
                      for t, n in counts.items()}
            if root is not None:
                seeded[root.qualified] = {factory.root_row(tenant).key}
            tenants.append((principal, seeded))
        member_of = [sets.of(conn, p) | {str(p.tenant_id)} if sets is not None else {str(p.tenant_id)}
                     for p, _ in tenants]
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(app_role)))
        for index, (principal, seeded) in enumerate(tenants):
            tenant = principal.tenant_id
            bind(conn, binding, principal)
            for table in catalog.tenant_tables:
                if "SELECT" not in table.app_privileges or _deny_all(table):
                    continue
                col = catalog.tenant_key(table)
                keys = sql.SQL(", ").join(map(sql.Identifier, table.primary_key)) if table.primary_key \
                    else sql.SQL("ctid::text")
                query = sql.SQL("select {}, {} from {}").format(sql.Identifier(col), keys, table.ident)
                rows = conn.execute(query).fetchall()
                foreign = [r for r in rows if str(r[0]) not in member_of[index]]
                missing = seeded.get(table.qualified, set()) - {tuple(r[1:]) for r in rows}
                probes.append(Probe(
                    table.qualified, "SELECT", "exact-visibility",
                    f"tenant {index + 1} of {len(tenants)} ({col}={tenant})", query.as_string(conn),
                    "every row seeded for this tenant and no row of another",
                    f"{len(rows)} row(s): {len(foreign)} of another tenant, {len(missing)} of "
                    f"{len(seeded.get(table.qualified, ()))} seeded missing",
                    not foreign and not missing,
                    tuple({"tenant": str(r[0]), "key": str(r[1:])} for r in foreign[:20])))
    return probes


def _deny_all(table) -> bool:
    return table.rls_enabled and not any(p.permissive and p.applies_to_app_role for p in table.policies)
