"""Bulk volume for the live-load rehearsal: many rows per tenant, fast, for any schema.

A **bulk table** is a tenant table whose keys can be made unique per row without inventing
parents: every primary-key or unique column other than the tenant column has a default, or is a
uuid, an integer or an unconstrained text column (and is not a foreign key). For each tenant the
row factory builds one valid row (parents included); :meth:`BulkTable.fill` then multiplies it
with ``INSERT ... SELECT ... FROM generate_series`` (fresh keys per row; json/jsonb columns get
the profile's payload document with the row number), and :meth:`BulkTable.one_row` gives the
workload a fresh row to insert. Other tables get the row factory's rows only.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from harness.core import Catalog, RowFactory, Table
from harness.tenancy import bound_workspace

__all__ = ["BulkTable", "bulk_tables"]

_counter = itertools.count(1)


@dataclass
class BulkTable:
    table: Table
    fresh: dict[str, str]                 # column -> uuid / int / text / payload
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)   # tenant -> row values

    @property
    def name(self) -> str:
        return self.table.qualified

    def add_tenant(self, factory: RowFactory, tenant: object) -> None:
        values = factory.values(self.table, tenant)
        self.templates[str(tenant)] = {c: v for c, v in values.items() if c not in self.fresh}

    def fill(self, conn: psycopg.Connection, setting: str, tenant: object, rows: int,
             payload: dict, unique_keys: tuple[str, ...] = ()) -> None:
        """Inserts ``rows`` rows of ``tenant`` in one statement (the caller's role)."""
        template = self.templates[str(tenant)]
        names, exprs, params = [], [], []
        for column, value in template.items():
            names.append(column)
            exprs.append(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(self._type(column))))
            params.append(_adapt(value))
        start = next(_counter) * 10_000_000
        for column, kind in self.fresh.items():
            names.append(column)
            exprs.append(_fresh_expr(kind, self._type(column), unique_keys))
            if kind in ("text", "payload"):
                params.append(column if kind == "text" else json.dumps(payload))
        query = sql.SQL("insert into {} ({}) select {} from generate_series({}, {}) g").format(
            self.table.ident, sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(exprs), sql.Literal(start), sql.Literal(start + rows - 1))
        with bound_workspace(conn, setting, tenant):
            conn.execute(query, params)

    def one_row(self, tenant: object, payload: dict,
                unique_keys: tuple[str, ...] = ()) -> tuple[sql.Composed, list]:
        """An INSERT of one fresh row of ``tenant`` (for the workload)."""
        values = dict(self.templates[str(tenant)])
        n = next(_counter)
        unique = {k: uuid.uuid4().hex for k in unique_keys}
        for column, kind in self.fresh.items():
            values[column] = {"uuid": lambda: uuid.uuid4(), "int": lambda: 2_000_000_000 + n,
                              "text": lambda c=column: f"{c}-w{n}-{uuid.uuid4().hex[:8]}",
                              "payload": lambda: {**payload, **unique, "row": n}}[kind]()
        names = list(values)
        query = sql.SQL("insert into {} ({}) values ({})").format(
            self.table.ident, sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(self._type(c)))
                               for c in names))
        return query, [_adapt(values[c]) for c in names]

    def _type(self, column: str) -> str:
        return self.table.column(column).type_sql


def bulk_tables(catalog: Catalog, names: set[str] | None = None) -> list[BulkTable]:
    """The tenant tables (of ``names``, if given) that can be filled in bulk."""
    found = []
    for table in catalog.tenant_tables:
        if catalog.tenant_root and table.qualified == catalog.tenant_root.qualified:
            continue
        if names is not None and table.qualified not in names and table.name not in names:
            continue
        fresh = _fresh_columns(table, catalog.tenant_column)
        if fresh is not None:
            found.append(BulkTable(table, fresh))
    return found


def _fresh_columns(table: Table, tenant_column: str) -> dict[str, str] | None:
    keyed = {c for key in (table.primary_key, *table.unique_keys) for c in key} - {tenant_column}
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    checked = {c for check in table.checks for c in check.columns}
    fresh: dict[str, str] = {}
    for name in sorted(keyed):
        column = table.column(name)
        if column.generated or (column.has_default and name not in fk_columns):
            continue   # the database fills it (identity, sequence, gen_random_uuid())
        if name in fk_columns:
            return None
        if column.base_type == "uuid":
            fresh[name] = "uuid"
        elif column.base_type in ("int2", "int4", "int8", "numeric"):
            fresh[name] = "int"
        elif column.base_type in ("text", "varchar") and name not in checked:
            fresh[name] = "text"
        else:
            return None
    for column in table.columns:
        if column.base_type in ("json", "jsonb") and column.name not in checked and not column.generated:
            fresh[column.name] = "payload"
    return fresh


def _fresh_expr(kind: str, type_sql: str, unique_keys: tuple[str, ...]) -> sql.Composable:
    unique = sql.SQL("").join(sql.SQL(", {}, md5({} || g)").format(sql.Literal(k), sql.Literal(k))
                              for k in unique_keys)
    return {"uuid": sql.SQL("gen_random_uuid()"),
            "int": sql.SQL("g::{}").format(sql.SQL(type_sql)),
            "text": sql.SQL("({}::text || '-' || g)::{}").format(sql.Placeholder(), sql.SQL(type_sql)),
            "payload": sql.SQL("({}::jsonb || jsonb_build_object('row', g{}))::{}").format(
                sql.Placeholder(), unique, sql.SQL(type_sql))}[kind]


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, (dict, list)) else value
