"""The target's schema and a tenant workload on a rehearsal cluster, and table checksums.

:func:`prepare_target` creates the app role and a database on a rehearsal cluster and migrates
it with the target's own migrations; :class:`Workload` writes rows into every tenant table for
several tenants with the tenant suite's row factory (parents first, constraints satisfied; volume
by COPY);
:func:`checksums` fingerprints each tenant table (count and an md5 over the rows in a fixed
order), for all tenants or one, so two copies can be compared table by table.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from harness import migrations, roles
from harness.core import Catalog, RowFactory, overrides_from, read_catalog, tenant_creator
from harness.core.rows import CreateTenant, seeding_binding
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["DATABASE", "TableSum", "Workload", "adapter_for", "checksums", "overrides_for",
           "prepare_target"]

DATABASE = "rehearsal"


@dataclass(frozen=True)
class TableSum:
    rows: int
    digest: str


def prepare_target(spec: TargetSpec, admin: ConnParams) -> tuple[ConnParams, ConnParams]:
    """Creates the app role and the target database, migrated to head: (owner, app) params."""
    app_password = secrets.token_urlsafe(24)
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        roles.ensure_role(conn, spec.app_role, app_password)
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    owner = admin.with_db(DATABASE)
    migrations.upgrade(spec, owner)
    return owner, owner.as_user(spec.app_role, app_password)


def adapter_for(spec: TargetSpec, owner: ConnParams, app: ConnParams) -> object | None:
    """The target's adapter on the rehearsal database (None: the spec names none)."""
    from harness.lifecycle import Database

    if not spec.adapter:
        return None
    return spec.load_adapter_class()(Database(name=owner.dbname, owner=owner, app=app, spec=spec))


def overrides_for(spec: TargetSpec, owner: ConnParams, app: ConnParams):
    """The target adapter's ``row_overrides`` on the rehearsal database (or none)."""
    adapter = adapter_for(spec, owner, app)
    return None if adapter is None else overrides_from(adapter)


@dataclass
class Workload:
    """Rows in every tenant table for a set of tenants, through one owner connection."""

    conn: psycopg.Connection
    spec: TargetSpec
    overrides: object = None
    catalog: Catalog = field(init=False)
    factory: RowFactory = field(init=False)
    tenants: list[object] = field(default_factory=list)
    # the adapter's create_tenant: tenants made the product's own way, with principals that
    # carry what the whole binding needs (a session id); None: the factory inserts the root row
    create_tenant: CreateTenant | None = None

    def __post_init__(self) -> None:
        self.catalog = read_catalog(self.conn, self.spec)
        binding = self.spec.binding if self.create_tenant is not None else \
            seeding_binding(self.spec.binding, self.spec.tenancy.root_owner)
        self.factory = RowFactory(self.conn, self.catalog, binding,
                                  self.overrides, create_tenant=self.create_tenant,
                                  root_owner=self.spec.tenancy.root_owner,
                                  reuse_global_parents=True)

    @classmethod
    def made_by(cls, conn: psycopg.Connection, spec: TargetSpec, adapter: object | None) -> Workload:
        """A workload whose tenants the adapter makes when it can (``create_tenant``)."""
        return cls(conn, spec, None if adapter is None else overrides_from(adapter),
                   create_tenant=tenant_creator(adapter))

    def add_tenants(self, count: int) -> None:
        self.tenants += [self.factory.new_tenant() for _ in range(count)]

    def write(self, rows_per_table: int) -> int:
        """Writes ``rows_per_table`` rows for every tenant into every tenant table (the root
        excepted), by COPY where the table allows (:meth:`RowFactory.insert_many`); returns how
        many. One transaction per tenant: on a durable cluster a commit per row cost an fsync
        each (the ``launch`` profile's seeding took minutes, its restore one second)."""
        root = self.catalog.tenant_root
        written = 0
        for tenant in self.tenants:
            with self.conn.transaction():
                for table in self.catalog.tenant_tables:
                    if root is None or table.qualified != root.qualified:
                        written += self.factory.insert_many(table, tenant, rows_per_table)
        return written

    def tables(self) -> list[str]:
        return [t.qualified for t in self.catalog.tenant_tables]

    def tenant_keys(self) -> dict[str, str]:
        """Each tenant table and the column naming its tenant: the tenant column, or the root's
        own key on the root (``accounts.id``: the root has no ``account_id``)."""
        return {t.qualified: self.catalog.tenant_key(t) for t in self.catalog.tenant_tables}


def checksums(conn: psycopg.Connection, tenant_keys: Mapping[str, str],
              tenant: object | None = None) -> dict[str, TableSum]:
    """Per table: row count and md5 of the rows' text in sorted order (one tenant's, or all).

    ``tenant_keys`` maps each table to the column its tenant is filtered by
    (:meth:`Workload.tenant_keys`)."""
    sums = {}
    for table, tenant_column in tenant_keys.items():
        schema, name = table.split(".", 1)
        where = sql.SQL("")
        params: tuple = ()
        if tenant is not None:
            where = sql.SQL(" where t.{} = %s").format(sql.Identifier(tenant_column))
            params = (tenant,)
        query = sql.SQL("select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "
                        "from {}.{} t{}").format(sql.Identifier(schema), sql.Identifier(name), where)
        rows, digest = conn.execute(query, params).fetchone()
        sums[table] = TableSum(rows, digest)
    return sums
