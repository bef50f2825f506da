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

__all__ = ["CAPABILITY_SIGNS", "Draft", "MembershipGuess", "guess"]

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
_TENANT_SETTING = re.compile(r"tenant|org|workspace|account|team|company")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# RAISE EXCEPTION up to the end of its statement, and the errcode it names, if any
_RAISE = re.compile(r"\braise\s+exception\b[^;]*;", re.IGNORECASE)
_ERRCODE = re.compile(r"errcode\s*=\s*'([0-9A-Za-z]{5})'", re.IGNORECASE)


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
    membership: MembershipGuess | None = None
    refusals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # SQLSTATE -> raised by
    # table -> command granted to the request role that no policy admits -> functions writing it
    write_paths: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class MembershipGuess:
    """Who belongs to which tenant: the table, its keys, and the roles its role column allows."""

    table: str
    user_column: str
    tenant_column: str
    roles: tuple[str, ...]           # () when the table says nothing of roles
    owner_role: str | None
    role_column: str | None          # "is_owner (boolean)" for an owner flag


def guess(schema: Schema, capabilities: tuple[str, ...], users_table: str | None,
          app_role: str = "app_user") -> Draft:
    """The draft for ``schema``; ``users_table`` is the identity table (default: ``users``);
    ``app_role`` the login the draft names (grants to it need no ``binding.role``)."""
    users_table = users_table or next((t.qualified for t in schema.tables if t.name == "users"), None)
    column, root = _tenant_key(schema, users_table)
    tenant_tables = tuple(sorted(t.qualified for t in schema.tables if column is not None
                                 and t.column(column) is not None and t.qualified != root))
    root_table = schema.table(root) if root else None
    owner = _owner_column(root_table, users_table) if root_table else None
    member = _membership(schema, column, root, users_table)
    kind, settings = _binding(schema, column)
    role = (_binding_role(schema, (*tenant_tables, root or ""), app_role) if kind == "settings"
            else None)
    app_schemas = sorted({t.schema for t in schema.tables} |
                         {f.schema for f in schema.functions if f.security_definer})
    holds_tenants = {t.partition(".")[0] for t in (*tenant_tables, root or "") if t}
    judged = tuple(s for s in app_schemas if s in holds_tenants or (
        _reachable(schema, s) and any(f.schema == s and f.security_definer
                                      for f in schema.functions))) or ("public",)
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
        membership_table=member.table if member else None, roles=member.roles if member else (),
        definer_functions=tuple(sorted({f.qualified for f in schema.functions
                                        if f.security_definer and f.schema in judged})),
        global_tables=global_tables, signs=signs,
        no_sign=tuple(c for c in capabilities if c not in signs),
        preset="supabase" if kind == "postgrest" else None, notes=notes,
        extensions=schema.extensions, membership=member, refusals=_refusals(schema, judged),
        write_paths=_write_paths(schema, (*tenant_tables, *((root,) if root else ())),
                                 ("authenticated",) if kind == "postgrest" else (role or app_role,)))


def _write_paths(schema: Schema, tables: tuple[str, ...],
                 request: tuple[str, ...]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Commands the request role is granted on a tenant table (with RLS on) that no policy for it
    admits: the product never runs them directly (a function does, or nothing does), so the
    tenant's own write there is not a demanded positive control. Each with the functions whose
    bodies run that command on the table, for the user to confirm."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for name in sorted(tables):
        table = schema.table(name)
        if table is None or not table.rls:
            continue
        granted = {p for role, privileges in schema.table_grants.get(name, {}).items()
                   if role in (*request, "public") for p in privileges}
        for command in ("INSERT", "UPDATE", "DELETE"):
            admitted = any(p.table == name and p.command in (command, "ALL")
                           and set(p.roles) & {*request, "public"} for p in schema.policies)
            if command in granted and not admitted:
                verb = {"INSERT": r"insert\s+into", "UPDATE": r"update", "DELETE": r"delete\s+from"}[command]
                writes = re.compile(rf"\b{verb}\s+(only\s+)?({re.escape(table.schema)}\.)?"
                                    rf"{re.escape(table.name)}\b", re.IGNORECASE)
                found.setdefault(name, {})[command] = tuple(
                    f.qualified for f in schema.functions if writes.search(f.body))
    return found


def _reachable(schema: Schema, name: str) -> bool:
    """Whether a role besides the schema's owner may use it (unknown: yes)."""
    return schema.schema_users is None or bool(schema.schema_users.get(name))


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
                users_table: str | None) -> MembershipGuess | None:
    """The table joining users to tenants; a role column with listed values beats one without,
    which beats an owner flag (``is_owner``), which beats a name alone."""
    if column is None:
        return None
    named = re.compile(CAPABILITY_SIGNS["memberships"])
    found = []
    for table in schema.tables:
        refs = {fk.ref_table for fk in table.foreign_keys}
        if table.column(column) is None or root not in refs:
            continue
        user = next((fk.column for fk in table.foreign_keys if users_table and fk.ref_table == users_table),
                    "user_id" if table.column("user_id") is not None else None)
        if user is None:
            continue
        roles = [c for c in table.columns if "role" in c.name]
        labelled = [c for c in roles if c.enum_labels]
        flag = next((c for c in table.columns if c.type_name == "boolean" and "owner" in c.name), None)
        rank = (bool(labelled), bool(roles), flag is not None, bool(named.search(table.name)))
        if labelled:
            labels, owner = labelled[0].enum_labels, None
            owner = next((r for r in labels if "owner" in r), labels[0])
            guess = MembershipGuess(table.qualified, user, column, labels, owner, labelled[0].name)
        elif flag is not None:
            guess = MembershipGuess(table.qualified, user, column, ("owner", "member"), "owner",
                                    f"{flag.name} (boolean)")
        else:
            guess = MembershipGuess(table.qualified, user, column, (), None,
                                    roles[0].name if roles else None)
        found.append((rank, guess))
    if not found:
        return None
    rank, guess = max(found, key=lambda f: f[0])
    return guess if any(rank) else None


def _read_by_policies(schema: Schema) -> str:
    """The policies' expressions plus the bodies of the functions they call, and of the functions
    those call (Graphile: a policy calls current_user_member_organization_ids(), which calls
    current_user_id(), which reads the session setting)."""
    text = " ".join(p.expressions for p in schema.policies)
    called: set[str] = set()
    while True:
        more = {f.qualified for f in schema.functions if f.qualified not in called
                and re.search(rf"\b{re.escape(f.name)}\s*\(", text)}
        if not more:
            return text
        called |= more
        text += " " + " ".join(f.body for f in schema.functions if f.qualified in more)


def _binding(schema: Schema, column: str | None = None) -> tuple[str | None, dict[str, str]]:
    text = _read_by_policies(schema)
    if _AUTH_FN.search(text) or "request.jwt.claim" in text:
        return "postgrest", {}
    names = list(dict.fromkeys(_SETTING.findall(text)))
    if not names:
        return None, {}
    return "settings", {name: _placeholder(name.split(".")[-1], column) for name in names}


def _placeholder(last: str, column: str | None) -> str:
    """``app.org_id`` -> ``{tenant_id}``, ``app.user_id`` -> ``{user_id}``, and any other id
    (``jwt.claims.session_id``) -> its own name, which only the adapter's create_tenant knows."""
    if last == column or _TENANT_SETTING.search(last):
        return "{tenant_id}"
    if _USER_SETTING.search(last):
        return "{user_id}"
    return f"{{{last}}}" if last.endswith("_id") and _IDENT.match(last) else "{tenant_id}"


def _binding_role(schema: Schema, tenant_tables: tuple[str, ...], app_role: str) -> str | None:
    """The one role (other than PUBLIC) the policies are written for; failing that, the one role
    granted on the most tenant tables (policies for PUBLIC, grants to PostGraphile's visitor)."""
    roles = {r for p in schema.policies for r in p.roles if r != "public"}
    if roles:
        return roles.pop() if len(roles) == 1 else None
    counts = Counter(r for t in tenant_tables for r in schema.grantees(t)
                     if r not in ("public", app_role))
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def _refusals(schema: Schema, judged: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The SQLSTATEs the product's own functions raise to refuse (``RAISE EXCEPTION ... USING
    errcode = 'DNIED'``; P0001 for a bare RAISE EXCEPTION), each with the functions raising it."""
    found: dict[str, list[str]] = {}
    for f in schema.functions:
        if f.schema not in judged:
            continue
        for match in _RAISE.finditer(f.body):
            named = _ERRCODE.search(match.group(0))
            state = named.group(1).upper() if named else "P0001"
            found.setdefault(state, [])
            if f.qualified not in found[state]:
                found[state].append(f.qualified)
    return {state: tuple(fns) for state, fns in sorted(found.items())}


def _signs(schema: Schema, capability: str) -> tuple[str, ...]:
    pattern = re.compile(CAPABILITY_SIGNS.get(capability, r"(?!)"))
    hits = [t.qualified for t in schema.tables if pattern.search(t.name)]
    hits += [f"{t.qualified}.{c.name}" for t in schema.tables for c in t.columns
             if pattern.search(c.name) or (capability == "retrieval" and c.type_name.startswith("vector"))
             or any(pattern.search(label) for label in c.enum_labels)]
    if capability == "retrieval" and "vector" in schema.extensions:
        hits.append("extension vector")
    return tuple(dict.fromkeys(hits))
