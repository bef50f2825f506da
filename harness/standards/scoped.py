"""Child tables scoped through their parent (``tenancy.scoped_through``), judged by behaviour.

A table with no tenant column that belongs to a tenant through its parent (``order_items``
through ``orders``) passes ``S00.tenant-column-convention`` when row-level security is enabled
and forced on it and, bound as one tenant's principal through the app role, a transaction sees
that tenant's child rows and none of another tenant's. The rows are seeded by the row factory
through the parent (a parent row in each tenant first), inside the caller's transaction, and
rolled back: nothing is committed.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from harness.core import RowFactory, read_catalog
from harness.core.rows import scoped_map, seeding_binding
from harness.isolation.failures import IsolationFailure
from harness.standards.failures import Finding
from harness.target import TargetSpec
from harness.tenancy import bind

__all__ = ["scoped_findings"]


def scoped_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    """Every problem of the tables declared under ``tenancy.scoped_through`` (``conn``: the owner,
    a superuser, in autocommit or not; everything it does is rolled back)."""
    if not spec.tenancy.scoped_through:
        return []
    found: list[Finding] = []
    with conn.transaction(force_rollback=True):
        catalog = read_catalog(conn, spec)
        scoped = scoped_map(catalog, spec.tenancy.scoped_through)
        for child in spec.tenancy.scoped_through:
            if not any(t == child or t.endswith(f".{child}") for t in scoped):
                found.append(Finding(child, "scoped-through", "is declared under "
                                     "tenancy.scoped_through but it (or its parent) does not exist",
                                     "fix tenancy.scoped_through in the target spec"))
        binding = seeding_binding(spec.binding, spec.tenancy.root_owner)
        factory = RowFactory(conn, catalog, binding, root_owner=spec.tenancy.root_owner,
                             scoped_through=scoped)
        for qualified in sorted(scoped):
            found += _judge(conn, spec, factory, catalog.table(qualified), binding)
    return found


def _judge(conn, spec: TargetSpec, factory: RowFactory, table, binding) -> list[Finding]:
    name = table.qualified
    if not (table.rls_enabled and table.rls_forced):
        return [Finding(name, "rls-keyed-on-tenant", "scoped through its parent, but row-level "
                        "security is not enabled and forced",
                        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY; "
                        f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")]
    try:
        mine, theirs = factory.new_principal("scoped-a"), factory.new_principal("scoped-b")
        rows = {p.tenant_id: factory.insert(table, p.tenant_id) for p in (mine, theirs)}
    except (IsolationFailure, psycopg.Error) as exc:
        return [Finding(name, "scoped-through", f"cannot seed a row through its parent: {exc}",
                        "give the row factory what it needs (row_overrides), or fix the declaration")]
    key = table.primary_key or tuple(c.name for c in table.columns)
    match = sql.SQL(" or ").join(
        sql.SQL("({})").format(sql.SQL(" and ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(row.values[c])) for c in key))
        for row in rows.values())
    query = sql.SQL("select {} from {} where {}").format(
        sql.SQL(", ").join(map(sql.Identifier, key)), table.ident, match)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(spec.app_role)))
        bind(conn, binding, mine)
        seen = {tuple(r) for r in conn.execute(query).fetchall()}
    own = tuple(rows[mine.tenant_id].values[c] for c in key)
    other = tuple(rows[theirs.tenant_id].values[c] for c in key)
    found = []
    if other in seen:
        found.append(Finding(name, "scoped-leak", "bound as one tenant, the app role sees another "
                             "tenant's child row: the policy does not follow the parent",
                             f"CREATE POLICY ... ON {name} USING (EXISTS (SELECT 1 FROM <parent> p "
                             "WHERE p.<key> = <fk> AND <the parent's tenant check>))",
                             f"{query.as_string(conn)}\nseen: {sorted(map(str, seen))}"))
    if own not in seen:
        found.append(Finding(name, "scoped-hidden", "bound as its tenant, the app role does not see "
                             "the tenant's own child row: the policy (or the binding) refuses it",
                             "scope the policy through the parent to the bound tenant",
                             query.as_string(conn)))
    return found
