"""Global identity tables (``S02.identity-tables-rls``, not waivable).

An identity table (``users``) is global by design - one person, many workspaces - but a person
must not be enumerable across tenants. For every table the spec declares under
``standards.identity_tables`` the check requires forced row-level security and proves by
behaviour, as the app role, that a transaction bound to a workspace and an acting person sees
exactly that person's own row and the rows of people who share an *active* membership with
them in that workspace: not a member of another workspace, not a removed member, nobody at all
when nothing is bound.

The people and workspaces are made through the target adapter (``create_user``,
``create_workspace``, ``add_member``, ``remove_member``), the product's own way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import psycopg
from psycopg import sql

from harness.standards.failures import Finding
from harness.standards.identity_paths import identity_views, view_findings, write_findings
from harness.target import IdentityTable, TargetSpec
from harness.tenancy import BindingError, Principal, bind

__all__ = ["IdentityWorld", "identity_findings", "identity_path_findings", "seed_identity_world"]


@dataclass(frozen=True)
class IdentityWorld:
    """Two workspaces: A (ada owner, bob member, rex removed) and B (cy owner)."""

    workspace_a: object
    workspace_b: object
    people: dict[str, object]      # name -> id


def seed_identity_world(adapter) -> IdentityWorld:
    tag = uuid.uuid4().hex[:8]
    people = {name: adapter.create_user(f"{name}-{tag}@identity.test")
              for name in ("ada", "bob", "rex", "cy")}
    a = adapter.create_workspace(f"identity-a-{tag}", people["ada"])
    b = adapter.create_workspace(f"identity-b-{tag}", people["cy"])
    for name in ("bob", "rex"):
        adapter.add_member(a, people["ada"], people[name], "member", f"identity-{tag}")
    adapter.remove_member(a, people["ada"], people["rex"], f"identity-{tag}")
    return IdentityWorld(a, b, people)


def _visible(conn: psycopg.Connection, spec: TargetSpec, table: str, rule: IdentityTable,
             workspace: object | None, actor: object | None, among: list[object]) -> set[object]:
    """The people of ``among`` that ``actor``, bound to ``workspace`` through the spec's binding
    (its role, its settings: JWT claims as well as a tenant setting) plus ``actor_setting``, sees.
    ``workspace=None``: the binding's role with nothing set."""
    query = sql.SQL("select {key} from {table} where {key} = any(%s)").format(
        key=sql.Identifier(rule.key), table=sql.Identifier(*table.split(".")))
    with conn.transaction(force_rollback=True):
        if workspace is None:
            bind(conn, spec.binding, None)
        else:
            binding = spec.binding
            if rule.actor_setting not in binding.settings:
                binding = replace(binding, settings={**binding.settings, rule.actor_setting: "{user_id}"})
            bind(conn, binding, Principal(workspace, {"user_id": actor}))
        return {row[0] for row in conn.execute(query, (among,))}


def identity_findings(connect_app: Callable[[], psycopg.Connection], owner: psycopg.Connection,
                      spec: TargetSpec, world: IdentityWorld) -> list[Finding]:
    found = []
    p = world.people
    cases = [  # (who acts, in which workspace, who they must see)
        ("ada in A", world.workspace_a, p["ada"], {p["ada"], p["bob"]}),
        ("bob in A", world.workspace_a, p["bob"], {p["ada"], p["bob"]}),
        ("cy in B", world.workspace_b, p["cy"], {p["cy"]}),
        ("cy bound to A (not a member)", world.workspace_a, p["cy"], {p["cy"]}),
        ("rex in A (removed)", world.workspace_a, p["rex"], {p["rex"]}),
        ("nothing bound", None, None, set()),
    ]
    names = {v: k for k, v in p.items()}
    for table, rule in spec.standards.identity_tables.items():
        flags = owner.execute("select relrowsecurity, relforcerowsecurity from pg_class "
                              "where oid = to_regclass(%s)", (table,)).fetchone()
        if flags is None:
            found.append(Finding(table, "identity-table", "does not exist",
                                 "fix standards.identity_tables in the target spec"))
            continue
        if not all(flags):
            found.append(Finding(table, "identity-rls-forced",
                                 "row-level security is not enabled and forced",
                                 f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; "
                                 f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"))
        with connect_app() as conn:
            for label, workspace, actor, expected in cases:
                try:
                    seen = _visible(conn, spec, table, rule, workspace, actor, list(p.values()))
                except BindingError as exc:
                    found.append(Finding(table, "identity-binding", str(exc),
                                         "bind identities with {tenant_id} and {user_id} only"))
                    break
                if seen != expected:
                    extra = sorted(names[x] for x in seen - expected)
                    lacking = sorted(names[x] for x in expected - seen)
                    found.append(Finding(
                        table, f"identity-visibility ({label})",
                        f"sees {sorted(names[x] for x in seen)}; expected "
                        f"{sorted(names[x] for x in expected)}"
                        + (f"; leaks {extra}" if extra else "") + (f"; hides {lacking}" if lacking else ""),
                        "a SELECT policy: own row, or an active co-member in the bound workspace",
                        f"SELECT {rule.key} FROM {table} bound through the spec's binding "
                        f"({', '.join(spec.binding.settings)}) and {rule.actor_setting}"))
    return found


def identity_path_findings(connect_app: Callable[[], psycopg.Connection], owner: psycopg.Connection,
                           spec: TargetSpec, world: IdentityWorld) -> tuple[list[Finding], dict]:
    """The writes and the views over each identity table (:mod:`.identity_paths`): nobody changes
    another person's row, and no view shows a person the actor may not see. Returns the findings
    and what was probed (for the evidence)."""
    p = world.people
    names = {v: k for k, v in p.items()}
    everyone = set(p.values())
    writes = [  # (who acts, in which workspace, whose rows they must not change)
        ("bob in A changes his co-member ada", world.workspace_a, p["bob"], {p["ada"]}),
        ("cy in B changes A's members", world.workspace_b, p["cy"], {p["ada"], p["bob"], p["rex"]}),
        ("cy bound to A (not a member)", world.workspace_a, p["cy"], {p["ada"], p["bob"]}),
        ("nothing bound", None, None, everyone),
    ]
    reads = [  # (who acts, in which workspace, who they may see)
        ("ada in A", world.workspace_a, p["ada"], {p["ada"], p["bob"]}),
        ("cy in B", world.workspace_b, p["cy"], {p["cy"]}),
        ("cy bound to A (not a member)", world.workspace_a, p["cy"], {p["cy"]}),
        ("rex in A (removed)", world.workspace_a, p["rex"], {p["rex"]}),
        ("nothing bound", None, None, set()),
    ]
    found: list[Finding] = []
    probed: dict = {}
    for table, rule in spec.standards.identity_tables.items():
        if owner.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
            continue  # identity_findings names the missing table
        views = identity_views(owner, table, rule)
        try:
            found += write_findings(connect_app, spec, table, rule, writes, names)
            view_found, shown = view_findings(connect_app, spec, table, rule, views, reads, names)
        except BindingError as exc:
            found.append(Finding(table, "identity-binding", str(exc),
                                 "bind identities with {tenant_id} and {user_id} only"))
            continue
        found += view_found
        probed[table] = {"writes": [label for label, *_ in writes], "views": [v for v, *_ in views],
                         "shown through views": shown}
    return found, probed
