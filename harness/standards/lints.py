"""Catalog lints after Supabase's splinter, for plain PostgreSQL: each finding names the object
and gives the DDL that fixes it.

- **tenant column convention** (``S00.tenant-column-convention``): every table in the judged
  schemas either carries the tenant column ``NOT NULL``, with row-level security enabled and
  forced and at least one policy that *depends on* that column in the catalog (``pg_depend``:
  structure, not policy text, so a policy through a helper function taking the column counts),
  or is declared global in the spec with a reason;
  tables declared under ``tenancy.scoped_through`` are judged by behaviour instead
  (:mod:`harness.standards.scoped`);
- **index baseline** (``S00.index-baseline``): every foreign key is backed by an index whose
  leading columns are the key's columns (splinter's ``unindexed_foreign_keys``) and every tenant
  table has an ordered (btree) index that leads with the tenant column (its tenant access
  path: a hash or BRIN index on it serves no ORDER BY and no second key); the declared hot
  queries are planned (:mod:`harness.standards.hot_paths`);
- advice: duplicate indexes, policies on a table whose RLS is off, UNLOGGED tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from harness.migrations import bookkeeping_tables, tool_for
from harness.standards.failures import Finding
from harness.target import TargetSpec

__all__ = ["AppTable", "app_tables", "duplicate_index_findings", "index_baseline_findings",
           "tenant_column_findings", "unlogged_findings"]


@dataclass(frozen=True)
class AppTable:
    oid: int
    schema: str
    name: str
    rls_enabled: bool
    rls_forced: bool
    unlogged: bool
    tenant_attnum: int | None
    tenant_not_null: bool
    policies: int
    policies_on_tenant_column: int

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def app_tables(conn: psycopg.Connection, spec: TargetSpec) -> list[AppTable]:
    """Ordinary and partitioned tables of the judged schemas, extension objects and the migration
    tool's bookkeeping table left out. On the declared tenant root (``tenancy.root``) the
    "tenant column" is the root's own single-column key (``accounts.id``)."""
    ignore = bookkeeping_tables(tool_for(spec))
    rows = conn.execute("""
        with root as (
            select r.oid, (select a.attname from pg_index i
                             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                            where i.indrelid = r.oid and i.indisprimary and i.indnatts = 1) as key
              from pg_class r where %(root)s::text is not null and r.oid = to_regclass(%(root)s))
        select c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
               c.relpersistence = 'u', a.attnum, coalesce(a.attnotnull, false),
               (select count(*) from pg_policy p where p.polrelid = c.oid),
               (select count(distinct p.oid) from pg_policy p
                  join pg_depend d on d.classid = 'pg_policy'::regclass and d.objid = p.oid
                 where p.polrelid = c.oid and d.refobjid = c.oid and d.refobjsubid = a.attnum)
          from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
          left join root on root.oid = c.oid
          left join pg_attribute a on a.attrelid = c.oid and not a.attisdropped
                and a.attname = coalesce(root.key, %(column)s)
         where c.relkind in ('r', 'p') and n.nspname = any(%(schemas)s)
           and not (c.relname = any(%(ignore)s) or n.nspname || '.' || c.relname = any(%(ignore)s))
           and not exists (select 1 from pg_depend e where e.classid = 'pg_class'::regclass
                           and e.objid = c.oid and e.deptype = 'e')
         order by n.nspname, c.relname""", {"root": spec.tenancy.root, "column": spec.tenancy.column,
                                             "schemas": list(spec.tenancy.schemas),
                                             "ignore": list(ignore)}).fetchall()
    return [AppTable(*row) for row in rows]


def _is_global(spec: TargetSpec, table: AppTable) -> bool:
    return table.name in spec.tenancy.global_tables or table.qualified in spec.tenancy.global_tables


def tenant_column_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    column = spec.tenancy.column
    scoped = set(spec.tenancy.scoped_through)
    found = []
    for table in app_tables(conn, spec):
        if table.tenant_attnum is None:
            # scoped through a parent: judged by behaviour (harness.standards.scoped)
            if not _is_global(spec, table) and not {table.name, table.qualified} & scoped:
                found.append(Finding(
                    table.qualified, "tenant-column",
                    f"has no {column} column and is not declared global",
                    f"ALTER TABLE {table.qualified} ADD COLUMN {column} ... NOT NULL REFERENCES "
                    f"<tenant root>, or list it under tenancy.global_tables with the reason"))
            continue
        if not table.tenant_not_null:
            found.append(Finding(table.qualified, "tenant-column-not-null",
                                 f"{column} is nullable: a row without a tenant belongs to no one",
                                 f"ALTER TABLE {table.qualified} ALTER COLUMN {column} SET NOT NULL"))
        if not (table.rls_enabled and table.rls_forced):
            found.append(Finding(table.qualified, "rls-keyed-on-tenant",
                                 "row-level security is not enabled and forced",
                                 f"ALTER TABLE {table.qualified} ENABLE ROW LEVEL SECURITY; "
                                 f"ALTER TABLE {table.qualified} FORCE ROW LEVEL SECURITY"))
        elif table.policies_on_tenant_column == 0:
            found.append(Finding(table.qualified, "rls-keyed-on-tenant",
                                 f"no policy depends on {column} ({table.policies} policies): "
                                 "row-level security does not key on the tenant",
                                 f"CREATE POLICY ... ON {table.qualified} USING ({column} = "
                                 "<the bound tenant>)"))
    return found


def index_baseline_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    tables = app_tables(conn, spec)
    oids = [t.oid for t in tables]
    found = []
    for table, name, columns in conn.execute("""
        select c.conrelid::regclass::text, c.conname,
               array(select a.attname from unnest(c.conkey) with ordinality k(attnum, ord)
                     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
                     order by k.ord)
          from pg_constraint c
         where c.contype = 'f' and c.conrelid = any(%s)
           and not exists (
               select 1 from pg_index i
                where i.indrelid = c.conrelid and i.indisvalid and i.indpred is null
                  and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey)
         order by 1, 2""", (oids,)).fetchall():
        cols = ", ".join(columns)
        found.append(Finding(
            table, "foreign-key-index",
            f"foreign key {name} ({cols}) has no index leading with its columns: a delete or key "
            "update of the referenced row scans the whole table",
            f"CREATE INDEX CONCURRENTLY ON {table} ({cols});"))
    for table in tables:
        if table.tenant_attnum is None:
            continue
        leads = conn.execute("""
            select exists (select 1 from pg_index i join pg_class x on x.oid = i.indexrelid
                            where i.indrelid = %s and i.indisvalid and i.indpred is null
                              and (i.indkey::int2[])[0] = %s
                              and pg_indexam_has_property(x.relam, 'can_order'))""",
                             (table.oid, table.tenant_attnum)).fetchone()[0]
        if not leads:
            found.append(Finding(
                table.qualified, "tenant-access-path",
                f"no ordered (btree) index leads with {spec.tenancy.column}: every tenant's "
                "query scans every tenant's rows, or (a hash or BRIN index) sorts them",
                f"CREATE INDEX CONCURRENTLY ON {table.qualified} ({spec.tenancy.column});"))
    return found


def duplicate_index_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    """Advice: indexes with the same table, keys, operator classes, expressions and predicate."""
    rows = conn.execute("""
        select i.indrelid::regclass::text, array_agg(i.indexrelid::regclass::text order by 1)
          from pg_index i join pg_class c on c.oid = i.indrelid
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%s)
         group by i.indrelid, i.indkey::text, i.indclass::text,
                  coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),
                  coalesce(pg_get_expr(i.indpred, i.indrelid), '')
        having count(*) > 1""", (list(spec.tenancy.schemas),)).fetchall()
    return [Finding(table, "duplicate-index", f"identical indexes {', '.join(names)}",
                    f"DROP INDEX CONCURRENTLY {names[-1]};") for table, names in rows]


def unlogged_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    return [Finding(t.qualified, "unlogged-table",
                    "UNLOGGED: not written to WAL, so it is emptied by crash recovery and missing "
                    "from every physical backup and replica",
                    f"ALTER TABLE {t.qualified} SET LOGGED;")
            for t in app_tables(conn, spec) if t.unlogged]
