"""What ``harness init`` reads from a migrated database: plain catalog facts, read-only.

One snapshot of the application's schemas (every schema but PostgreSQL's own and a hosting
platform's: Supabase's ``auth``, ``storage``, ...): tables with their columns, primary and
foreign keys, policies with their expressions, functions (SECURITY DEFINER or not, with their
bodies) and installed extensions. Objects that belong to an extension are left out. Nothing here
guesses; :mod:`harness.onboarding.guess` turns these facts into a draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import psycopg

__all__ = ["PLATFORM_SCHEMAS", "Column", "ForeignKey", "Function", "Policy", "Schema", "Table",
           "read_schema"]

# schemas a hosting platform owns (Supabase's); judged by the platform's vendor, not the target
PLATFORM_SCHEMAS = ("auth", "extensions", "storage", "realtime", "graphql", "graphql_public",
                    "vault", "pgsodium", "pgsodium_masks", "net", "supabase_functions",
                    "supabase_migrations", "cron", "pgbouncer", "pgtle", "information_schema")
# bookkeeping tables of migration tools: never the application's data
BOOKKEEPING = ("harness_schema_migrations", "alembic_version", "schema_migrations",
               "flyway_schema_history")


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str               # format_type(), e.g. "uuid", "basejump.account_role"
    enum_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    column: str                  # single-column keys only: a tenant key is one column
    ref_table: str               # schema.name


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    rls: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Policy:
    table: str                   # schema.name
    name: str
    roles: tuple[str, ...]       # "public" for PUBLIC
    expressions: str             # USING and WITH CHECK, as pg_get_expr prints them
    command: str = "ALL"         # SELECT, INSERT, UPDATE, DELETE or ALL


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    security_definer: bool
    body: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    policies: tuple[Policy, ...]
    functions: tuple[Function, ...]
    extensions: tuple[str, ...]
    # schema -> the roles other than its owner that may use it ("public": everyone); a schema
    # missing here is reachable by its owner only (Graphile's app_private). None: not read.
    schema_users: dict[str, tuple[str, ...]] | None = None
    # table -> role other than its owner -> the privileges it holds on the table or a column
    table_grants: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def grantees(self, table: str) -> tuple[str, ...]:
        return tuple(self.table_grants.get(table, {}))

    def table(self, qualified: str) -> Table | None:
        return next((t for t in self.tables if t.qualified == qualified), None)


_NOT_EXTENSION = """not exists (select 1 from pg_depend d where d.classid = {cls}::regclass
                      and d.objid = {oid} and d.deptype = 'e')"""
_APP_SCHEMA = "n.nspname <> all(%(skip)s) and n.nspname not like 'pg\\_%%' and n.nspname not like '\\_%%'"

_TABLES = f"""
select c.oid, n.nspname, c.relname, c.relrowsecurity
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition and {_APP_SCHEMA}
  and c.relname <> all(%(bookkeeping)s)
  and {_NOT_EXTENSION.format(cls="'pg_class'", oid="c.oid")}
order by 2, 3"""

_COLUMNS = """
select a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce((select array_agg(e.enumlabel order by e.enumsortorder) from pg_enum e
                 where e.enumtypid = a.atttypid), '{}')
from pg_attribute a
where a.attrelid = any(%s) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum"""

_KEYS = """
select k.conrelid, k.contype, k.conkey,
       (select a.attname from pg_attribute a where a.attrelid = k.conrelid and a.attnum = k.conkey[1]),
       case when k.contype = 'f' then fn.nspname || '.' || fc.relname end
from pg_constraint k
left join pg_class fc on fc.oid = k.confrelid
left join pg_namespace fn on fn.oid = fc.relnamespace
where k.conrelid = any(%s) and k.contype in ('p', 'f')"""

# one-column checks: a role column kept to a list of values (CHECK (role IN ('owner', 'member')))
_CHECKS = """
select k.conrelid, a.attname, pg_get_constraintdef(k.oid)
from pg_constraint k join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
where k.conrelid = any(%s) and k.contype = 'c' and array_length(k.conkey, 1) = 1"""
_LITERAL = re.compile(r"'((?:[^']|'')*)'::")

_PK_COLUMNS = """
select a.attname from pg_attribute a join pg_constraint k on k.conrelid = a.attrelid
where k.conrelid = %s and k.contype = 'p' and a.attnum = any(k.conkey) order by a.attnum"""

_POLICIES = """
select n.nspname || '.' || c.relname, p.polname,
       coalesce((select array_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end)
                 from unnest(p.polroles) r), '{}'),
       concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
       case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                     when 'd' then 'DELETE' else 'ALL' end
from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
where p.polrelid = any(%s) order by 1, 2"""

_FUNCTIONS = f"""
select n.nspname, p.proname, p.prosecdef, coalesce(p.prosrc, '')
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where {_APP_SCHEMA} and p.prokind in ('f', 'p')
  and {_NOT_EXTENSION.format(cls="'pg_proc'", oid="p.oid")}
order by 1, 2"""


# who besides the owner may use each schema, and who holds a privilege on each table or column
_SCHEMA_USERS = f"""
select n.nspname, coalesce(array_agg(distinct case when a.grantee = 0 then 'public'
                                                  else pg_get_userbyid(a.grantee) end)
                                  filter (where a.grantee <> n.nspowner), '{{}}')
from pg_namespace n cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
where {_APP_SCHEMA} and a.privilege_type = 'USAGE'
group by 1"""

_TABLE_GRANTS = """
select c.oid, case when a.grantee = 0 then 'public' else pg_get_userbyid(a.grantee) end,
       array_agg(distinct a.privilege_type)
from pg_class c
cross join lateral (select c.relacl as acl
                    union all select attacl from pg_attribute
                    where attrelid = c.oid and attnum > 0 and attacl is not null) acls
cross join lateral aclexplode(acls.acl) a
where c.oid = any(%s) and a.grantee <> c.relowner
group by 1, 2"""


def read_schema(conn: psycopg.Connection) -> Schema:
    """The application's catalog, read in one repeatable-read snapshot; writes nothing."""
    params = {"skip": list(PLATFORM_SCHEMAS), "bookkeeping": list(BOOKKEEPING)}
    rows = conn.execute(_TABLES, params).fetchall()
    oids = [row[0] for row in rows]
    columns: dict[int, list[Column]] = {}
    for relid, name, type_name, labels in conn.execute(_COLUMNS, (oids,)).fetchall():
        columns.setdefault(relid, []).append(Column(name, type_name, tuple(labels)))
    for relid, name, definition in conn.execute(_CHECKS, (oids,)).fetchall():
        labels = tuple(v.replace("''", "'") for v in _LITERAL.findall(definition))
        if labels and ("ANY" in definition or " IN " in definition.upper()):
            columns[relid] = [replace(c, enum_labels=c.enum_labels or labels) if c.name == name
                              else c for c in columns.get(relid, [])]
    keys: dict[int, list[ForeignKey]] = {}
    has_pk: set[int] = set()
    for relid, kind, conkey, first, ref in conn.execute(_KEYS, (oids,)).fetchall():
        if kind == "p":
            has_pk.add(relid)
        elif len(conkey) == 1:
            keys.setdefault(relid, []).append(ForeignKey(first, ref))
    tables = []
    for oid, schema, name, rls in rows:
        pk = tuple(r[0] for r in conn.execute(_PK_COLUMNS, (oid,)).fetchall()) if oid in has_pk else ()
        tables.append(Table(schema, name, tuple(columns.get(oid, ())), pk, tuple(keys.get(oid, ())),
                            bool(rls)))
    policies = tuple(Policy(*row[:2], tuple(row[2]), row[3] or "", row[4])
                     for row in conn.execute(_POLICIES, (oids,)).fetchall())
    functions = tuple(Function(*row) for row in conn.execute(_FUNCTIONS, params).fetchall())
    extensions = tuple(r[0] for r in conn.execute(
        "select extname from pg_extension order by 1").fetchall())
    schema_users = {name: tuple(sorted(users)) for name, users
                    in conn.execute(_SCHEMA_USERS, params).fetchall() if users}
    qualified = {oid: f"{schema}.{name}" for oid, schema, name, _ in rows}
    grants: dict[str, dict[str, tuple[str, ...]]] = {}
    for oid, role, privileges in conn.execute(_TABLE_GRANTS, (oids,)).fetchall():
        grants.setdefault(qualified[oid], {})[role] = tuple(sorted(privileges))
    return Schema(tuple(tables), policies, functions, extensions, schema_users, grants)
