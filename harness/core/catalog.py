"""Reading the PostgreSQL catalog: which tables hold tenant data, and how they are protected.

A tenant table is a table in one of the target's application schemas that has the tenant column
(``tenancy.column`` in the target spec, default ``workspace_id``), plus the tenant **root** (the
tenant table itself, ``tenancy.root``, keyed by its primary key: ``accounts.id`` holds what
``account_id`` holds elsewhere). Discovery is driven by the
catalog, never by a list someone maintains, so a table added next sprint is covered the day its
migration lands. :func:`read_catalog` takes one snapshot of everything the isolation checks
judge: columns, keys, check constraints, RLS flags, policies (with their expressions as
``pg_get_expr`` prints them), indexes, the app role's privileges, PUBLIC grants, views and
SECURITY DEFINER functions. Objects that belong to an extension are marked, not judged, and so
are tables outside the application schemas that a foreign key reaches (``auth.users``): they are
read so that rows can be seeded, never judged.

Privileges and policies are read for the **acting role**: the binding's role when the spec sets
one (``SET LOCAL ROLE authenticated``), else the app role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import psycopg
from psycopg import sql

from harness.target import TargetSpec

__all__ = ["COMMANDS", "Catalog", "Check", "Column", "ForeignKey", "Function", "Policy", "Table",
           "View", "read_catalog"]

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_POLCMD = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


@dataclass(frozen=True)
class Column:
    name: str
    type_sql: str              # format_type(): what a value is cast to, e.g. "character varying(20)"
    base_type: str             # the type (or a domain's base type) name, e.g. "varchar", "uuid"
    category: str              # pg_type.typcategory of the base type
    typmod: int
    not_null: bool
    has_default: bool          # a DEFAULT, an identity or a generated column: the database fills it
    generated: bool            # GENERATED ALWAYS (identity or stored): may not be written
    enum_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str             # schema.name
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    name: str
    columns: tuple[str, ...]
    expression: str            # pg_get_expr(conbin): evaluable against a row of those columns


@dataclass(frozen=True)
class Policy:
    name: str
    command: str               # SELECT / INSERT / UPDATE / DELETE / ALL
    permissive: bool
    roles: tuple[str, ...]     # "PUBLIC" for the public pseudo-role
    applies_to_app_role: bool
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique_keys: tuple[tuple[str, ...], ...]
    foreign_keys: tuple[ForeignKey, ...]
    checks: tuple[Check, ...]
    policies: tuple[Policy, ...]
    rls_enabled: bool
    rls_forced: bool
    owner: str
    index_leading_columns: tuple[str, ...]   # the first column of every valid index
    app_privileges: frozenset[str]           # which of COMMANDS the app role may run at all
    public_privileges: tuple[str, ...]       # privileges granted to PUBLIC
    from_extension: bool = False
    external: bool = False                   # outside the judged schemas: seeded, never judged

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def has_column(self, name: str) -> bool:
        return self.column(name) is not None


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    materialized: bool
    owner: str
    security_invoker: bool
    app_can_select: bool
    from_extension: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    signature: str             # schema-qualified with argument types, e.g. "public.f(ws uuid)"
    owner: str
    from_extension: bool = False


@dataclass(frozen=True)
class Catalog:
    """One snapshot of the application schemas, as the isolation checks see them."""

    schemas: tuple[str, ...]
    tenant_column: str
    app_role: str                # the acting role: the binding's role, else the app role
    app_role_exists: bool
    tables: tuple[Table, ...]    # the judged schemas' tables, then external foreign-key parents
    views: tuple[View, ...] = ()
    security_definer_functions: tuple[Function, ...] = ()
    root_name: str | None = None  # tenancy.root; None: the table keyed by the tenant column
    bypass_roles: frozenset[str] = frozenset()  # superusers and BYPASSRLS roles: RLS never applies
    _by_name: dict[str, Table] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for t in self.tables:
            self._by_name[t.qualified] = t
        for t in self.tables:
            if not t.external:
                self._by_name.setdefault(t.name, t)

    @cached_property
    def judged_tables(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if not t.external)

    @cached_property
    def tenant_tables(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if self.is_tenant(t))

    def table(self, name: str) -> Table:
        """A table by ``schema.name`` or, when unambiguous enough, by bare name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no table {name!r} in schemas {', '.join(self.schemas)}") from None

    def is_tenant(self, table: Table) -> bool:
        if table.from_extension or table.external:
            return False
        return table.has_column(self.tenant_column) or self.is_root(table)

    def is_root(self, table: Table) -> bool:
        root = self.tenant_root
        return root is not None and root.qualified == table.qualified

    def tenant_key(self, table: Table) -> str:
        """The column holding the tenant id: the root's key on the root, the tenant column elsewhere."""
        if self.is_root(table) and len(table.primary_key) == 1:
            return table.primary_key[0]
        return self.tenant_column

    @cached_property
    def tenant_root(self) -> Table | None:
        """The tenant table itself: ``tenancy.root``, else the table keyed by the tenant column."""
        if self.root_name is not None:
            return self._by_name.get(self.root_name) or self._by_name.get(f"public.{self.root_name}")
        return next((t for t in self.tables if not t.external and not t.from_extension
                     and t.primary_key == (self.tenant_column,)), None)


def read_catalog(conn: psycopg.Connection, spec: TargetSpec) -> Catalog:
    """Reads the catalog of ``spec``'s application schemas as seen through ``conn``."""
    schemas = list(spec.tenancy.schemas)
    role = spec.binding.role or spec.app_role
    role_exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None
    # privileges of a role that does not exist would be an error; such a role can do nothing
    probe_role = role if role_exists else "pg_monitor"
    tables = _tables(conn, _TABLES.format(where="n.nspname = any(%(schemas)s)"),
                     {"schemas": schemas, "role": probe_role}, role_exists, external=False)
    known = {t.qualified for t in tables}
    parents = {fk.ref_table for t in tables for fk in t.foreign_keys} - known
    while parents:  # foreign-key parents outside the judged schemas, and theirs in turn
        found = _tables(conn, _TABLES.format(where="(n.nspname || '.' || c.relname) = any(%(names)s)"),
                        {"names": sorted(parents), "role": probe_role}, role_exists, external=True)
        tables += found
        known |= {t.qualified for t in found}
        parents = {fk.ref_table for t in found for fk in t.foreign_keys} - known
    views = tuple(
        View(schema, name, kind == "m", owner, _invoker(options), bool(can_select) and role_exists, ext)
        for schema, name, kind, owner, options, can_select, ext
        in conn.execute(_VIEWS, {"schemas": schemas, "role": probe_role}).fetchall())
    functions = tuple(Function(*r) for r in conn.execute(_SECDEF, (schemas,)).fetchall())
    bypass = frozenset(r[0] for r in conn.execute(
        "select rolname from pg_roles where rolsuper or rolbypassrls").fetchall())
    return Catalog(schemas=tuple(schemas), tenant_column=spec.tenancy.column, app_role=role,
                   app_role_exists=role_exists, tables=tuple(tables), views=views,
                   security_definer_functions=functions, root_name=spec.tenancy.root,
                   bypass_roles=bypass)


def _tables(conn: psycopg.Connection, query: str, params: dict, role_exists: bool,
            external: bool) -> list[Table]:
    rows = conn.execute(query, params).fetchall()
    oids = [r[0] for r in rows]
    probe_role = params["role"]
    columns = _group(conn.execute(_COLUMNS, (oids,)).fetchall())
    constraints = _group(conn.execute(_CONSTRAINTS, (oids,)).fetchall())
    policies = _group(conn.execute(_POLICIES, {"oids": oids, "role": probe_role}).fetchall())
    indexes = _group(conn.execute(_INDEXES, (oids,)).fetchall())
    tables = []
    for oid, schema, name, rls, forced, owner, sel, ins, upd, dele, public, ext in rows:
        cons = constraints.get(oid, [])
        granted = {cmd for cmd, ok in zip(COMMANDS, (sel, ins, upd, dele), strict=True) if ok and role_exists}
        tables.append(Table(
            schema=schema, name=name,
            columns=tuple(_column(r) for r in columns.get(oid, [])),
            primary_key=next((tuple(c[2]) for c in cons if c[1] == "p"), ()),
            unique_keys=tuple(tuple(c[2]) for c in cons if c[1] == "u"),
            foreign_keys=tuple(ForeignKey(c[0], tuple(c[2]), c[3], tuple(c[4])) for c in cons if c[1] == "f"),
            checks=tuple(Check(c[0], tuple(c[2]), c[5]) for c in cons if c[1] == "c"),
            policies=tuple(Policy(p[0], _POLCMD[p[1]], p[2], tuple(p[3]), bool(p[4]) and role_exists, p[5], p[6])
                           for p in policies.get(oid, [])),
            rls_enabled=rls, rls_forced=forced, owner=owner,
            index_leading_columns=tuple(i[0] for i in indexes.get(oid, []) if i[0] is not None),
            app_privileges=frozenset(granted), public_privileges=tuple(public), from_extension=ext,
            external=external,
        ))
    return tables


def _column(r: tuple) -> Column:
    name, not_null, has_def, identity, generated, type_sql, typmod, base, category, labels = r
    return Column(name=name, type_sql=type_sql, base_type=base or "", category=category or "",
                  typmod=typmod, not_null=not_null,
                  has_default=bool(has_def or identity or generated),
                  generated=identity == "a" or bool(generated), enum_labels=tuple(labels or ()))


def _invoker(options: list[str]) -> bool:
    for option in options or ():
        key, _, value = option.partition("=")
        if key.strip().lower() == "security_invoker":
            return value.strip().lower() in ("true", "on", "1", "yes")
    return False


def _group(rows: list[tuple]) -> dict[int, list[tuple]]:
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


_EXTENSION_MEMBER = """exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                               and d.objid = c.oid and d.deptype = 'e')"""

_TABLES = f"""
select c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
       has_any_column_privilege(%(role)s, c.oid, 'SELECT'), has_any_column_privilege(%(role)s, c.oid, 'INSERT'),
       has_any_column_privilege(%(role)s, c.oid, 'UPDATE'), has_table_privilege(%(role)s, c.oid, 'DELETE'),
       array(select distinct a.privilege_type from aclexplode(c.relacl) a where a.grantee = 0 order by 1),
       {_EXTENSION_MEMBER}
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and {{where}}
order by n.nspname, c.relname"""

_COLUMNS = """
select a.attrelid, a.attname, a.attnotnull, a.atthasdef, a.attidentity <> '', a.attgenerated <> '',
       format_type(a.atttypid, a.atttypmod), case when t.typtype = 'd' then t.typtypmod else a.atttypmod end,
       bt.typname, bt.typcategory,
       case when bt.typtype = 'e'
            then array(select e.enumlabel::text from pg_enum e where e.enumtypid = bt.oid order by e.enumsortorder)
       end
from pg_attribute a
join pg_type t on t.oid = a.atttypid
join pg_type bt on bt.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
where a.attrelid = any(%s) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum"""

_ATTNAMES = """array(select a.attname::text from unnest({keys}) with ordinality k(num, pos)
                     join pg_attribute a on a.attrelid = {rel} and a.attnum = k.num order by k.pos)"""

_CONSTRAINTS = f"""
select con.conrelid, con.conname, con.contype,
       {_ATTNAMES.format(keys="con.conkey", rel="con.conrelid")},
       case when con.contype = 'f' then (select n.nspname || '.' || r.relname from pg_class r
                                          join pg_namespace n on n.oid = r.relnamespace
                                          where r.oid = con.confrelid) end,
       case when con.contype = 'f' then {_ATTNAMES.format(keys="con.confkey", rel="con.confrelid")} end,
       case when con.contype = 'c' then pg_get_expr(con.conbin, con.conrelid) end
from pg_constraint con
where con.conrelid = any(%s) and con.contype in ('p', 'u', 'f', 'c')
order by con.conrelid, con.conname"""

_POLICIES = """
select p.polrelid, p.polname, p.polcmd, p.polpermissive,
       array(select case when r = 0 then 'PUBLIC' else pg_get_userbyid(r) end from unnest(p.polroles) r),
       0 = any(p.polroles) or exists (select 1 from unnest(p.polroles) r
                                      where r <> 0 and pg_has_role(%(role)s, r, 'USAGE')),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
from pg_policy p where p.polrelid = any(%(oids)s)
order by p.polrelid, p.polname"""

_INDEXES = """
select i.indrelid, (select a.attname from pg_attribute a where a.attrelid = i.indrelid and a.attnum = i.indkey[0])
from pg_index i where i.indrelid = any(%s) and i.indisvalid"""

_VIEWS = f"""
select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), coalesce(c.reloptions, '{{}}'),
       has_table_privilege(%(role)s, c.oid, 'SELECT'), {_EXTENSION_MEMBER}
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and n.nspname = any(%(schemas)s)
order by n.nspname, c.relname"""

_SECDEF = """
select n.nspname, p.proname,
       n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       pg_get_userbyid(p.proowner),
       exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
               and d.deptype = 'e')
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where p.prosecdef and n.nspname = any(%s)
order by 1, 3"""
