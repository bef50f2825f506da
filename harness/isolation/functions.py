"""Functions called for another tenant: what a SECURITY DEFINER function hands back is behaviour.

Policies guard tables; a function (above all a SECURITY DEFINER one, which reads as its owner)
can hand another tenant's rows straight back whatever the policies say, and an allowlist entry
only says someone reviewed it once. So every function of the application schemas the acting
role may EXECUTE, that needs no argument or only one of the tenant key's type, is called bound
to A: with B's tenant id when it takes one, else with none. The call may refuse (any error) or
answer; its answer, as text, must hold none of B's seeded row keys (nor B's tenant id, when the
function was not handed it), and the call must leave B's rows as they were (read back by the
owner in the same transaction: a function that deletes or rewrites another tenant's rows is as
wrong as one that returns them). Keys that are the tenant id or point at a table outside the
tenancy (a user id in ``auth.users``) are not B's own and are not looked for. Each call runs on
the owner's connection with ``SET LOCAL ROLE`` to the app role, in a transaction that is rolled
back, under a statement timeout, so a function with side effects leaves nothing behind.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from harness.core.catalog import Catalog
from harness.isolation.matrix import Probe, SeededTenant
from harness.target import BindingSpec
from harness.tenancy import bind

__all__ = ["function_probes", "tenant_functions"]

_CALLABLE = """
select p.oid::regprocedure::text, n.nspname, p.proname, p.prosecdef,
       p.pronargs - p.pronargdefaults,
       case when p.pronargs > 0 then format_type(p.proargtypes[0], null) end
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname = any(%(schemas)s) and p.prokind = 'f'
  and p.prorettype <> 'trigger'::regtype and p.prorettype <> 'event_trigger'::regtype
  and has_function_privilege(%(role)s, p.oid, 'EXECUTE')
  and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                  and d.objid = p.oid and d.deptype = 'e')
  and p.pronargs - p.pronargdefaults <= 1
order by 1"""


def tenant_functions(conn: psycopg.Connection, catalog: Catalog) -> list[tuple[str, str, str, bool, bool]]:
    """(signature, schema, name, security definer, takes the tenant id) of every callable function."""
    root = catalog.tenant_root
    key_type = None
    if root is not None:
        column = root.column(catalog.tenant_key(root))
        key_type = column.type_sql if column else None
    rows = conn.execute(_CALLABLE, {"schemas": list(catalog.schemas), "role": catalog.app_role}).fetchall()
    found = []
    for signature, schema, name, definer, required, first in rows:
        if required == 1 and (key_type is None or first != key_type):
            continue
        found.append((signature, schema, name, definer, required == 1))
    return found


def _b_keys(catalog: Catalog, b: SeededTenant) -> set[str]:
    """B's seeded row keys that are B's own (not the tenant id, not a reference elsewhere)."""
    keys: set[str] = set()
    for table_name, rows in b.rows.items():
        table = catalog.table(table_name)
        if catalog.is_root(table):
            continue
        foreign = {c for fk in table.foreign_keys for c in fk.columns}
        for column in table.primary_key:
            if column == catalog.tenant_key(table) or column in foreign:
                continue
            keys |= {str(row.values[column]) for row in rows if row.values.get(column) is not None}
    return {k for k in keys if len(k) >= 6}   # a short key (an id like 3) would match by chance


def _b_rows(conn: psycopg.Connection, catalog: Catalog, b: SeededTenant) -> set[tuple[str, str]]:
    """(table, ctid) of every row of B's tenant: a row deleted or rewritten changes its ctid."""
    found: set[tuple[str, str]] = set()
    for table in catalog.tenant_tables:
        rows = conn.execute(sql.SQL("select ctid::text from {} where {}::text = %s").format(
            table.ident, sql.Identifier(catalog.tenant_key(table))), (str(b.tenant),)).fetchall()
        found |= {(table.qualified, r[0]) for r in rows}
    return found


def function_probes(owner_conn: psycopg.Connection, catalog: Catalog, binding: BindingSpec,
                    a: SeededTenant, b: SeededTenant, app_role: str) -> list[Probe]:
    """One probe per callable function (see the module docstring), bound to A as ``app_role``
    (the login role) on ``owner_conn``, which also reads the catalog and B's rows."""
    conn, keys = owner_conn, _b_keys(catalog, b)
    probes = []
    for signature, schema, name, definer, takes_tenant in tenant_functions(owner_conn, catalog):
        call = sql.SQL("select {}.{}({})::text").format(
            sql.Identifier(schema), sql.Identifier(name), sql.Placeholder() if takes_tenant else sql.SQL(""))
        params = (b.tenant,) if takes_tenant else ()
        looked_for = keys | (set() if takes_tenant else {str(b.tenant)})
        text = call.as_string(conn) + (f"\n  params: [{b.tenant}]" if params else "")
        answer, error, changed = None, None, 0
        try:
            with conn.transaction(force_rollback=True):
                before = _b_rows(conn, catalog, b)
                conn.execute("set local statement_timeout = '5s'")
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(app_role)))
                bind(conn, binding, a.principal)
                try:
                    with conn.transaction():
                        rows = conn.execute(call, params).fetchall()   # set-returning: every row
                    answer = "\n".join("" if r[0] is None else r[0] for r in rows)
                except psycopg.Error as err:
                    error = err
                conn.execute("reset role")
                changed = len(before - _b_rows(conn, catalog, b))
        except psycopg.Error as err:
            error = err
        held = sorted(k for k in looked_for if answer is not None and k in answer)
        kind = "SECURITY DEFINER" if definer else "SECURITY INVOKER"
        if error is not None:
            observed = f"refused: error {error.sqlstate}: {str(error).splitlines()[0]}"
        else:
            observed = f"answered {len(answer or '')} characters, holding {len(held)} of B's keys"
        observed += f"; {changed} row(s) of B's tenant deleted or rewritten"
        probes.append(Probe(
            signature, "EXECUTE", "function-other", a.describe(catalog.tenant_column), text,
            f"{kind}: an error, or an answer holding nothing of B's rows; B's rows unchanged"
            + (" (called with B's tenant id)" if takes_tenant else ""),
            observed, not held and not changed,
            tuple({"key of B found": k, "answer": (answer or "")[:300]} for k in held[:5])))
    return probes
