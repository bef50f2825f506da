"""The SQL the tenant matrix runs on one table: the read, the touch-UPDATE, deletes, inserts.

Kept apart from the cases (:mod:`harness.isolation.matrix`) so those read as what they judge.
The UPDATE rewrites one column to itself (the tenant key, or the first column the acting role
may update where it has column grants): it changes no value and shows only which rows the
policies let it reach.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from harness.core.catalog import Catalog, Table
from harness.core.rows import RowFactory, Statement
from harness.isolation.seeding import SeededTenant

__all__ = ["MatrixStatements"]


class MatrixStatements:
    """Statements on the factory's catalog; ``own`` is the tenant whose first row is deleted
    when a DELETE of one own row names none."""

    def __init__(self, factory: RowFactory, own: SeededTenant) -> None:
        self.factory, self.own = factory, own
        self.catalog: Catalog = factory.catalog
        self._updatable: dict[str, list[str]] = {}

    def select(self, t: Table) -> Statement:
        return Statement(sql.SQL("select {}, {} from {}").format(
            sql.Identifier(self.key(t)), self.key_columns(t), t.ident))

    def key(self, t: Table) -> str:
        return self.catalog.tenant_key(t)

    def touch(self, t: Table, tenant: object | None) -> Statement:
        col = sql.Identifier(self.touch_column(t))
        query = sql.SQL("update {} set {} = {}").format(t.ident, col, col)
        if tenant is None:
            return Statement(query)
        return Statement(query + sql.SQL(" where {} = %s").format(sql.Identifier(self.key(t))), (tenant,))

    def touch_column(self, t: Table) -> str:
        """The column an UPDATE rewrites to itself: the tenant key, unless the acting role may
        update only some columns (``GRANT UPDATE (name, slug)``), then the first of those."""
        if not self.catalog.app_role_exists:
            return self.key(t)
        if t.qualified not in self._updatable:
            rows = self.factory.conn.execute(
                "select a.attname from pg_attribute a where a.attrelid = %s::regclass and a.attnum > 0 "
                "and not a.attisdropped and has_column_privilege(%s, a.attrelid, a.attnum, 'UPDATE') "
                "order by a.attnum", (t.qualified, self.catalog.app_role)).fetchall()
            self._updatable[t.qualified] = [r[0] for r in rows]
        columns, key = self._updatable[t.qualified], self.key(t)
        return key if key in columns or not columns else columns[0]

    def delete(self, t: Table, tenant: object | None) -> Statement:
        query = sql.SQL("delete from {}").format(t.ident)
        if tenant is None:
            return Statement(query)
        return Statement(query + sql.SQL(" where {} = %s").format(sql.Identifier(self.key(t))), (tenant,))

    def delete_one(self, t: Table, key: tuple | None) -> Statement:
        if key is None:
            key = self.own.rows[t.qualified][0].key
        if t.primary_key:
            where = sql.SQL(" and ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in t.primary_key)
        else:
            where = sql.SQL("ctid = %s::tid")
        return Statement(sql.SQL("delete from {} where {}").format(t.ident, where), tuple(key))

    def insert(self, t: Table, tenant: object) -> Statement:
        return self.factory.insert_statement(t, self.factory.values(t, tenant))

    def key_columns(self, t: Table) -> sql.Composable:
        if t.primary_key:
            return sql.SQL(", ").join(map(sql.Identifier, t.primary_key))
        return sql.SQL("ctid::text")

    def row_dict(self, t: Table, row: tuple) -> dict[str, Any]:
        names = [self.key(t), *(t.primary_key or ("ctid",))]
        return dict(zip(names, row, strict=False))

    @staticmethod
    def row_of(t: Table, stmt: Statement) -> dict[str, Any]:
        return {"insert into": t.qualified, "params": [str(getattr(p, "obj", p)) for p in stmt.params]}
