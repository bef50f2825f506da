"""Volume at COPY speed: many rows of one tenant table, multiplied from one valid row.

A table is **bulk-fillable** when each of its keys can be made unique per row without inventing
parents: one column of each primary or unique key (the tenant column aside) has a default, or is
a uuid, an integer or a text column, and is not a foreign key. The row factory builds one
valid row for a tenant (parents included, checks satisfied); :func:`copy_rows` then writes that
row many times with fresh keys through ``COPY ... FROM STDIN`` (psycopg's ``cursor.copy``): one
round trip and one statement for the lot instead of a statement, a savepoint and its probes per
row. Columns the database fills (identity, ``gen_random_uuid()``, ``now()``) are left to it.

``COPY FROM`` refuses a table whose row-level security applies to the connection's role
(a non-superuser owner of a table with FORCE ROW LEVEL SECURITY): there the rows go into a
temporary staging table by COPY and on with one ``INSERT ... SELECT``, so every policy's
WITH CHECK still judges every row. Either way the binding's settings are set in the same
transaction, so triggers reading them (``created_by = auth.uid()``) see the tenant's principal.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from harness.core.catalog import Column, ForeignKey, Table
from harness.core.seeding import adapt

__all__ = ["BulkShape", "bulk_shape", "copy_rows"]

_stage = itertools.count(1)


@dataclass(frozen=True)
class BulkShape:
    """A bulk-fillable table, the columns each copied row gets fresh, and the foreign keys that
    need a parent row per copied row (a key made only of references: ``memberships (user_id)``)."""

    table: Table
    fresh: dict[str, str]                 # column -> uuid / int / text / payload
    parents: tuple[ForeignKey, ...] = ()

    def rows(self, template: Mapping[str, Any], count: int, counter: Iterator[int],
             parent_keys: Mapping[str, list[tuple]] | None = None,
             payload: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Column names and ``count`` rows: ``template``'s values, fresh keys per row, row i
        referencing parent i of each of :attr:`parents` (``parent_keys``: the foreign key's name
        -> the referenced values, one tuple per row)."""
        referencing = {c for fk in self.parents for c in fk.columns}
        fixed = {c: adapt(self.table.column(c), v) for c, v in template.items()
                 if c not in self.fresh and c not in referencing}
        names = [*fixed, *self.fresh, *(c for fk in self.parents for c in fk.columns)]
        rows = []
        for i in range(count):
            n = next(counter)
            rows.append((*fixed.values(),
                         *(self._fresh(c, kind, n, template.get(c), payload) for c, kind in self.fresh.items()),
                         *(v for fk in self.parents for v in (parent_keys or {})[fk.name][i])))
        return names, rows

    def _fresh(self, column: str, kind: str, n: int, chosen: Any,
               payload: Mapping[str, Any] | None) -> Any:
        if kind == "uuid":
            return uuid.uuid4()
        if kind == "int":
            # above what a sequence filling the same column reaches in a test's lifetime
            return n + 1_000_000_000 if self.table.column(column).has_default else n
        if kind == "text":
            if isinstance(chosen, str) and len(chosen) >= 12:
                # the value the checks accepted, its first 12 characters made unique: its length
                # and its tail stay (a hex digest stays hex, an email keeps its @domain)
                return f"{n % 16**4:04x}{uuid.uuid4().hex[:8]}" + chosen[12:]
            text = f"{column}-{n}-{uuid.uuid4().hex[:8]}"
            limit = self.table.column(column).typmod - 4
            return text[-limit:] if limit > 0 else text
        return adapt(self.table.column(column), {**(payload or {}), "row": n})


def bulk_shape(table: Table, tenant_column: str, *, payload: bool = False,
               force: tuple[str, ...] = ()) -> BulkShape | None:
    """``table``'s bulk shape, or None when a key cannot vary per row.

    Each primary or unique key (the tenant column aside) needs one column that differs per row:
    one the database fills (a default or identity, not a foreign key), else the first that can
    be made fresh (a uuid, an integer, a text; not a foreign key; one no check names first),
    else a foreign key whose parent gets a row per copied row (:attr:`BulkShape.parents`). The
    key's other columns keep the template's values (``delivery_attempts (delivery_id,
    attempt_no)``: one delivery, fresh attempt numbers). ``force``: columns made fresh even where
    the database would fill them (a parent's key its children must know). ``payload``:
    json/jsonb columns get a fresh document per row too."""
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    checked = {c for check in table.checks for c in check.columns}
    fresh: dict[str, str] = {}
    parents: list[ForeignKey] = []
    for name in force:
        column = table.column(name)
        kind = None if column is None or column.generated or name in fk_columns else _fresh_kind(column)
        if kind is None:
            return None
        fresh[name] = kind
    for key in (table.primary_key, *table.unique_keys):
        columns = [table.column(name) for name in key if name != tenant_column]
        if not columns or any(c.name in fresh or c.name in _columns(parents) for c in columns):
            continue
        if any((c.generated or c.has_default) and c.name not in fk_columns for c in columns):
            continue   # the database fills it (identity, sequence, gen_random_uuid())
        # a column no check names first; a checked text may still pass (``length(key) <= 200``):
        # a copy its check refuses falls back to the factory's rows
        candidates = sorted((c for c in columns if c.name not in fk_columns), key=lambda c: c.name in checked)
        chosen = next(((c.name, kind) for c in candidates if (kind := _fresh_kind(c)) is not None), None)
        if chosen is not None:
            fresh[chosen[0]] = chosen[1]
            continue
        names = {c.name for c in columns}
        parent = next((fk for fk in table.foreign_keys if set(fk.columns) & names), None)
        if parent is None or parent.ref_table == table.qualified:
            return None
        parents.append(parent)
    if payload:
        for column in table.columns:
            if column.base_type in ("json", "jsonb") and column.name not in checked and not column.generated:
                fresh[column.name] = "payload"
    return BulkShape(table, fresh, tuple(parents))


def _columns(fks: list[ForeignKey]) -> set[str]:
    return {c for fk in fks for c in fk.columns}


def _fresh_kind(column: Column) -> str | None:
    if column.base_type == "uuid":
        return "uuid"
    if column.base_type in ("int2", "int4", "int8", "numeric"):
        return "int"
    if column.base_type in ("text", "varchar"):
        return "text"
    return None


def copy_rows(conn: psycopg.Connection, table: Table, names: list[str], rows: Iterable[tuple]) -> None:
    """Writes ``rows`` (values for ``names``) into ``table`` by COPY, inside the caller's
    transaction; through a staging table where row-level security applies to this role."""
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    guarded = conn.execute("select row_security_active(%s::regclass)", (table.qualified,)).fetchone()[0]
    target = table.ident
    if guarded:
        target = sql.Identifier(f"harness_copy_stage_{next(_stage)}")
        conn.execute(sql.SQL("create temp table {} as select {} from {} limit 0").format(
            target, columns, table.ident))
    with conn.cursor() as cur, cur.copy(sql.SQL("copy {} ({}) from stdin").format(target, columns)) as copy:
        for row in rows:
            copy.write_row(row)
    if guarded:
        conn.execute(sql.SQL("insert into {} ({}) select {} from {}").format(
            table.ident, columns, columns, target))
        conn.execute(sql.SQL("drop table {}").format(target))
