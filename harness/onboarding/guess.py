"""From catalog facts to a draft: what the tenancy looks like, and what the user must decide.

The guesses are the ones a reviewer would make reading the migrations:

- the **tenant column** is the column name most tables carry as a foreign key to one and the same
  table, and that table is the **root** (``account_id`` -> ``basejump.accounts``); a platform's
  users table (``auth.users``) is an identity, never a tenant;
- the root's **owner column** is its foreign key to the users table, if it has one;
- the **binding** follows what the policies (and the functions they call) read: ``auth.uid()`` or
  ``auth.jwt()`` is a PostgREST request, a ``current_setting('app.x')`` is a setting to bind;
- the **membership table** carries the tenant column and a user column, and its role column's
  enum gives the role model;
- every SECURITY DEFINER function and every table without the tenant column is a decision the
  user must write down (why it is safe, why it is global), so each gets a ``TODO`` the gate
  refuses until it is answered;
- a capability whose tables the catalog shows no sign of is pre-declared unsupported, with TODO.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from harness.onboarding.schema import Schema, Table

__all__ = ["CAPABILITY_SIGNS", "Draft", "guess"]

# a table (or column) name that hints at a capability's data; no match -> "no sign of it"
CAPABILITY_SIGNS: dict[str, str] = {
    "memberships": r"member|account_user|team_user|org_user|membership",
    "membership-suspension": r"suspend",
    "membership-audit": r"audit",
    "events": r"event|inbox|outbox",
    "automation-runs": r"automation",
    "webhooks": r"webhook",
    "billing-mirror": r"subscription|billing",
    "connector-credentials": r"credential|connector",
    "entitlements": r"entitlement|quota|usage",
    "agent-runs": r"agent",
    "ingestion": r"document|chunk|ingest",
    "retrieval": r"embedding|vector",
    "analytics": r"analytics|tracking",
}
_SETTING = re.compile(r"current_setting\(\s*'([A-Za-z_][A-Za-z0-9_.]*)'")
_AUTH_FN = re.compile(r"\bauth\.(uid|jwt)\(\)")
_USER_SETTING = re.compile(r"user|actor|sub\b")


@dataclass(frozen=True)
class Draft:
    """What ``harness init`` found, in the spec's terms; ``None`` where it found nothing."""

    tenant_column: str | None
    root: str | None
    root_owner: str | None
    tenant_tables: tuple[str, ...]
    schemas: tuple[str, ...]
    binding_kind: str | None            # "postgrest" | "settings" | None
    settings: dict[str, str]            # setting name -> "{tenant_id}" / "{user_id}"
    binding_role: str | None
    membership_table: str | None
    roles: tuple[str, ...]
    definer_functions: tuple[str, ...]
    global_tables: tuple[str, ...]
    signs: dict[str, tuple[str, ...]]   # capability -> the tables (or columns) hinting at it
    no_sign: tuple[str, ...]            # capabilities the catalog shows nothing of
    preset: str | None
    notes: list[str] = field(default_factory=list)
    extensions: tuple[str, ...] = ()


def guess(schema: Schema, capabilities: tuple[str, ...], users_table: str | None) -> Draft:
    """The draft for ``schema``; ``users_table`` is the identity table (default: ``users``)."""
    users_table = users_table or next((t.qualified for t in schema.tables if t.name == "users"), None)
    column, root = _tenant_key(schema, users_table)
    tenant_tables = tuple(sorted(t.qualified for t in schema.tables if column is not None
                                 and t.column(column) is not None and t.qualified != root))
    root_table = schema.table(root) if root else None
    owner = _owner_column(root_table, users_table) if root_table else None
    membership, roles = _membership(schema, column, root, users_table)
    kind, settings = _binding(schema)
    role = _binding_role(schema) if kind == "settings" else None
    app_schemas = sorted({t.schema for t in schema.tables} |
                         {f.schema for f in schema.functions if f.security_definer})
    judged = tuple(s for s in app_schemas if any(t.startswith(f"{s}.") for t in tenant_tables)
                   or any(f.schema == s and f.security_definer for f in schema.functions)
                   or (root is not None and root.startswith(f"{s}."))) or ("public",)
    global_tables = tuple(sorted(t.qualified for t in schema.tables
                                 if t.schema in judged and t.qualified not in tenant_tables
                                 and t.qualified != root))
    signs = {cap: hits for cap in capabilities if (hits := _signs(schema, cap))}
    notes = []
    if column is None:
        notes.append("no column is carried by several tables as a key to one table: "
                     "set tenancy.column and tenancy.root by hand")
    return Draft(
        tenant_column=column, root=root, root_owner=owner, tenant_tables=tenant_tables,
        schemas=judged, binding_kind=kind, settings=settings, binding_role=role,
        membership_table=membership, roles=roles,
        definer_functions=tuple(sorted({f.qualified for f in schema.functions
                                        if f.security_definer and f.schema in judged})),
        global_tables=global_tables, signs=signs,
        no_sign=tuple(c for c in capabilities if c not in signs),
        preset="supabase" if kind == "postgrest" else None, notes=notes,
        extensions=schema.extensions)


def _tenant_key(schema: Schema, users_table: str | None) -> tuple[str | None, str | None]:
    """The (column, referenced table) pair most tables carry; ties: the shorter column name."""
    counts: Counter[tuple[str, str]] = Counter()
    for table in schema.tables:
        for fk in table.foreign_keys:
            if fk.ref_table != users_table and fk.ref_table != table.qualified:
                counts[(fk.column, fk.ref_table)] += 1
    if not counts:
        return _root_keyed_by_own_column(schema)
    (column, root), _ = max(counts.items(), key=lambda item: (item[1], -len(item[0][0])))
    return column, root


def _root_keyed_by_own_column(schema: Schema) -> tuple[str | None, str | None]:
    """No foreign keys at all: a column shared by most tables that one table has as its key."""
    shared = Counter(c.name for t in schema.tables for c in t.columns if c.name.endswith("_id"))
    for name, count in shared.most_common():
        root = next((t for t in schema.tables if t.primary_key == (name,)), None)
        if count > 1 and root is not None:
            return name, root.qualified
    return None, None


def _owner_column(root: Table, users_table: str | None) -> str | None:
    to_users = [fk.column for fk in root.foreign_keys if users_table and fk.ref_table == users_table]
    owners = [c for c in to_users if "owner" in c] or to_users
    return owners[0] if owners else None


def _membership(schema: Schema, column: str | None, root: str | None,
                users_table: str | None) -> tuple[str | None, tuple[str, ...]]:
    if column is None:
        return None, ()
    named = re.compile(CAPABILITY_SIGNS["memberships"])
    found = []
    for table in schema.tables:
        refs = {fk.ref_table for fk in table.foreign_keys}
        if table.column(column) is None or root not in refs:
            continue
        if users_table not in refs and not any(c.name == "user_id" for c in table.columns):
            continue
        roles = [c for c in table.columns if "role" in c.name]
        labelled = [c for c in roles if c.enum_labels]
        # a role column with its values listed beats a role column, which beats a name alone
        rank = (bool(labelled), bool(roles), bool(named.search(table.name)))
        found.append((rank, table.qualified, labelled[0].enum_labels if labelled else ()))
    if not found:
        return None, ()
    rank, table, labels = max(found, key=lambda f: f[0])
    return (table, labels) if any(rank) else (None, ())


def _read_by_policies(schema: Schema) -> str:
    """The policies' expressions plus the bodies of the functions they call."""
    text = " ".join(p.expressions for p in schema.policies)
    called = {f.qualified for f in schema.functions
              if re.search(rf"\b{re.escape(f.name)}\s*\(", text)}
    return text + " " + " ".join(f.body for f in schema.functions if f.qualified in called)


def _binding(schema: Schema) -> tuple[str | None, dict[str, str]]:
    text = _read_by_policies(schema)
    if _AUTH_FN.search(text) or "request.jwt.claim" in text:
        return "postgrest", {}
    names = list(dict.fromkeys(_SETTING.findall(text)))
    if not names:
        return None, {}
    return "settings", {name: "{user_id}" if _USER_SETTING.search(name.split(".")[-1]) else
                        "{tenant_id}" for name in names}


def _binding_role(schema: Schema) -> str | None:
    """The one role (other than PUBLIC) the policies are written for, if there is exactly one."""
    roles = {r for p in schema.policies for r in p.roles if r != "public"}
    return roles.pop() if len(roles) == 1 else None


def _signs(schema: Schema, capability: str) -> tuple[str, ...]:
    pattern = re.compile(CAPABILITY_SIGNS.get(capability, r"(?!)"))
    hits = [t.qualified for t in schema.tables if pattern.search(t.name)]
    hits += [f"{t.qualified}.{c.name}" for t in schema.tables for c in t.columns
             if pattern.search(c.name) or (capability == "retrieval" and c.type_name.startswith("vector"))
             or any(pattern.search(label) for label in c.enum_labels)]
    if capability == "retrieval" and "vector" in schema.extensions:
        hits.append("extension vector")
    return tuple(dict.fromkeys(hits))
