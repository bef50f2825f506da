"""The other roads to an identity row (``S02.identity-tables-rls``): writes and views.

A SELECT policy that hides a person proves nothing about an UPDATE or DELETE policy, and a view
over the identity table runs with its owner's rights unless it is ``security_invoker``, so it can
show every person whatever the table's policies say. As the app role, bound to a workspace and an
acting person through the spec's binding, these probes try:

- ``UPDATE`` and ``DELETE`` of people other than the actor (a co-member, a member of another
  workspace, anyone with nothing bound): judged by the rows the statement changed (``RETURNING``)
  or the SQLSTATE it raised. A refusal (a privilege error, a policy's WITH CHECK, a trigger's
  exception) is sound; an integrity error (class 23, e.g. a foreign key still referencing the
  person) means the policy let the statement reach the row, which is a finding too;
- every view and materialized view that reads the identity table, directly or through other
  views: the people whose id appears in any row it shows must be among those the actor may see,
  and an updatable view with the key column must change no one else's row.

Every probe runs in a transaction that is rolled back: nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import psycopg
from psycopg import sql

from harness.standards.failures import Finding
from harness.target import IdentityTable, TargetSpec
from harness.tenancy import Principal, bind

__all__ = ["identity_views", "view_findings", "write_findings"]

_VIEWS = """
    with recursive reads(oid) as (
        select to_regclass(%s)::oid
        union
        select r.ev_class from reads
          join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = reads.oid
                          and d.classid = 'pg_rewrite'::regclass
          join pg_rewrite r on r.oid = d.objid
         where r.ev_class <> reads.oid)
    select c.oid::regclass::text, c.relkind = 'm',
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = %s
                   and not a.attisdropped)
      from reads join pg_class c on c.oid = reads.oid
     where c.relkind in ('v', 'm')
     order by 1"""


def _bind(conn: psycopg.Connection, spec: TargetSpec, rule: IdentityTable,
          workspace: object | None, actor: object | None) -> None:
    """Binds the open transaction as ``actor`` in ``workspace`` (``None``: the binding's role,
    nothing set), the actor through ``actor_setting`` as well as the spec's own settings."""
    if workspace is None:
        bind(conn, spec.binding, None)
        return
    binding = spec.binding
    if rule.actor_setting not in binding.settings:
        binding = replace(binding, settings={**binding.settings, rule.actor_setting: "{user_id}"})
    bind(conn, binding, Principal(workspace, {"user_id": actor}))


def _attempt(conn: psycopg.Connection, spec: TargetSpec, rule: IdentityTable, workspace: object,
             actor: object, statement: sql.Composable, params: tuple) -> tuple[list[object], str | None]:
    """The keys a statement changed (``RETURNING``), or the SQLSTATE it raised; rolled back."""
    try:
        with conn.transaction(force_rollback=True):
            _bind(conn, spec, rule, workspace, actor)
            return [row[0] for row in conn.execute(statement, params).fetchall()], None
    except psycopg.Error as exc:
        return [], exc.sqlstate or "?"


def _reached(changed: list[object], sqlstate: str | None) -> bool:
    # an integrity error is raised only for a row the policies let the statement reach
    return bool(changed) or (sqlstate or "").startswith("23")


def write_findings(connect_app: Callable[[], psycopg.Connection], spec: TargetSpec, table: str,
                   rule: IdentityTable, cases: list[tuple[str, object, object, set[object]]],
                   names: dict[object, str]) -> list[Finding]:
    """``cases``: (label, workspace, actor, people the actor must not change)."""
    ident = sql.Identifier(*table.split("."))
    key = sql.Identifier(rule.key)
    statements = {
        "UPDATE": sql.SQL("update {t} set {k} = {k} where {k} = any(%s) returning {k}").format(t=ident, k=key),
        "DELETE": sql.SQL("delete from {t} where {k} = any(%s) returning {k}").format(t=ident, k=key),
    }
    found = []
    with connect_app() as conn:
        for command, statement in statements.items():
            for label, workspace, actor, others in cases:
                changed, sqlstate = _attempt(conn, spec, rule, workspace, actor, statement, (list(others),))
                if _reached(changed, sqlstate):
                    who = sorted(names.get(x, str(x)) for x in changed) or sorted(names[x] for x in others)
                    outcome = (f"changed {len(changed)} row(s): {who}" if changed else
                               f"reached {who} (SQLSTATE {sqlstate}: an integrity error, not a refusal)")
                    found.append(Finding(
                        table, f"identity-{command.lower()} ({label})", outcome,
                        f"{'an' if command == 'UPDATE' else 'a'} {command} policy on {table}: the "
                        "acting person's own row only "
                        f"({rule.key} = the bound {rule.actor_setting}), or no {command} grant",
                        statement.as_string(conn)))
    return found


def identity_views(owner: psycopg.Connection, table: str, rule: IdentityTable) -> list[tuple[str, bool, bool]]:
    """(view, materialized, has the key column) for every view reading ``table``, transitively."""
    return [tuple(row) for row in owner.execute(_VIEWS, (table, rule.key)).fetchall()]


def view_findings(connect_app: Callable[[], psycopg.Connection], spec: TargetSpec, table: str,
                  rule: IdentityTable, views: list[tuple[str, bool, bool]],
                  cases: list[tuple[str, object, object, set[object]]],
                  names: dict[object, str]) -> tuple[list[Finding], list[dict]]:
    """``cases``: (label, workspace, actor, people the actor may see). Returns the findings and
    what each view showed (for the evidence)."""
    people = {str(k): v for k, v in names.items()}
    found, seen_log = [], []
    with connect_app() as conn:
        for view, materialized, has_key in views:
            ident = sql.Identifier(*view.split("."))
            shown = sql.SQL("select to_jsonb(v)::text from {} v").format(ident)
            for label, workspace, actor, visible in cases:
                rows, sqlstate = _attempt(conn, spec, rule, workspace, actor, shown, ())
                text = "\n".join(map(str, rows))
                leaked = sorted(name for key, name in people.items()
                                if key in text and name not in {names[x] for x in visible})
                seen_log.append({"view": view, "as": label, "rows": len(rows), "refused": sqlstate,
                                 "leaks": leaked})
                if leaked:
                    kind = "materialized view (no row-level security at all)" if materialized else "view"
                    found.append(Finding(
                        view, f"identity-view ({label})",
                        f"this {kind} over {table} shows {leaked} to someone who may not see them",
                        f"ALTER VIEW {view} SET (security_invoker = true), or REVOKE SELECT ON {view} "
                        "FROM the app role" if not materialized else
                        f"REVOKE SELECT ON {view} FROM the app role (expose it through a view that "
                        "filters on the bound person)", shown.as_string(conn)))
            if has_key and not materialized:
                found += _view_writes(conn, spec, table, rule, view, cases, names)
    return found, seen_log


def _view_writes(conn, spec: TargetSpec, table: str, rule: IdentityTable, view: str,
                 cases: list[tuple[str, object, object, set[object]]], names: dict[object, str]) -> list[Finding]:
    key = sql.Identifier(rule.key)
    statement = sql.SQL("update {v} set {k} = {k} where {k} = any(%s) returning {k}").format(
        v=sql.Identifier(*view.split(".")), k=key)
    found = []
    for label, workspace, actor, _visible in cases:
        others = [x for x in names if x != actor]
        changed, sqlstate = _attempt(conn, spec, rule, workspace, actor, statement, (others,))
        if _reached(changed, sqlstate):
            found.append(Finding(
                view, f"identity-view-update ({label})",
                f"an UPDATE through this view over {table} reached "
                f"{sorted(names.get(x, str(x)) for x in changed) or 'other people'}"
                + (f" (SQLSTATE {sqlstate})" if sqlstate else ""),
                f"ALTER VIEW {view} SET (security_invoker = true), or REVOKE UPDATE ON {view} "
                "FROM the app role", statement.as_string(conn)))
    return found
