"""Values the database accepts, for one column or for a check over several.

Candidate values come from the column's type (enum labels, a unique text, a counter, a uuid, a
zero vector) and from the literals and numbers its check constraints name, first; each is tried
against the check expression in the database itself (in a savepoint), so ``role IN (...)`` or
``position('@' in email) > 1`` need no special code. The candidate that satisfied a check is
remembered per table and column and tried first next time: seeding many rows of one table asks
the database once per row, not once per candidate.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from harness.core.catalog import Column, Table
from harness.core.seeding import SeedingFailure, adapt

__all__ = ["ValueChooser", "cannot_build"]


class ValueChooser:
    """Chooses column values through ``conn`` (only to evaluate checks; it writes nothing)."""

    def __init__(self, conn: psycopg.Connection, counter: Iterator[int]) -> None:
        self.conn = conn
        self.counter = counter
        self.strategy: dict[tuple[str, str], int] = {}   # the candidate that satisfied the checks

    def satisfy_check(self, table: Table, check: Any, row: dict[str, Any]) -> None:
        """Values for the columns of a check over several columns (``personal_account = true AND
        slug IS NULL OR ...``) that the row does not set yet, found by trying small combinations
        of candidates (NULL first for a nullable column) against the check in the database."""
        columns = [table.column(c) for c in check.columns if table.column(c) is not None]
        unset = [c for c in columns if c.name not in row]
        if any(c.generated for c in unset) or all(c.has_default for c in unset):
            return   # the row and the database's defaults decide, as they always did
        remembered = self.strategy.get((table.qualified, check.name))
        options = []
        for column in columns:
            if column.name in row:
                options.append([row[column.name]])
                continue
            single = [c for c in table.checks if c.columns == (column.name,)]
            nullable = not column.not_null and not column.has_default
            values = ([None] if nullable else []) + self.candidates(column, [check, *single])
            if column.base_type == "bool":
                values += [False]
            options.append(values[:6])
        combinations = list(itertools.islice(itertools.product(*options), 200))
        if remembered is not None and remembered < len(combinations):
            combinations.insert(0, combinations.pop(remembered))
        for combination in combinations:
            if self._check_holds(check, columns, combination):
                self.strategy[(table.qualified, check.name)] = \
                    list(itertools.islice(itertools.product(*options), 200)).index(combination)
                row.update({c.name: v for c, v in zip(columns, combination, strict=True)})
                return
        raise cannot_build(table, check.columns[0], "is in a check constraint over several columns "
                          f"that no combination of generic values satisfies: {check.expression}")

    def _check_holds(self, check: Any, columns: list[Column], values: tuple) -> bool:
        query = sql.SQL("select coalesce(({}), true) from (select {}) as candidate").format(
            sql.SQL(check.expression), sql.SQL(", ").join(
                sql.SQL("{}::{} as {}").format(sql.Placeholder(), sql.SQL(c.type_sql),
                                               sql.Identifier(c.name)) for c in columns))
        try:
            with self.conn.transaction():
                return bool(self.conn.execute(query, tuple(
                    adapt(c, v) for c, v in zip(columns, values, strict=True))).fetchone()[0])
        except psycopg.Error:
            return False

    def valid_value(self, table: Table, column: Column, *, trusted: bool = False) -> Any:
        """A value of ``column`` its one-column checks accept, asked of the database; ``trusted``:
        the candidate that passed for an earlier row is taken without asking (the caller inserts
        it and asks again if the database refuses it)."""
        checks = [c for c in table.checks if c.columns == (column.name,)]
        candidates = self.candidates(column, checks)
        if not candidates:
            raise cannot_build(table, column.name, f"has type {column.type_sql}, for which the "
                              "factory has no generic value")
        key = (table.qualified, column.name)
        if trusted and self.strategy.get(key, len(candidates)) < len(candidates):
            return candidates[self.strategy[key]]
        order = list(range(len(candidates)))
        if key in self.strategy:
            order.insert(0, order.pop(self.strategy[key]))
        for index in order:
            value = candidates[index]
            if not checks or self._accepted(column, checks, value):
                self.strategy[key] = index
                return value
        raise cannot_build(table, column.name,
                          "no generic value satisfies " + "; ".join(c.expression for c in checks))

    def _accepted(self, column: Column, checks: list, value: Any) -> bool:
        """Whether the database casts ``value`` to the column type and every check holds."""
        tests = [sql.SQL("({})").format(sql.SQL(c.expression)) for c in checks] or [sql.SQL("true")]
        query = sql.SQL("select {} from (select {}::{} as {}) as candidate").format(
            sql.SQL(" and ").join(sql.SQL("coalesce({}, true)").format(t) for t in tests),
            sql.Placeholder(), sql.SQL(column.type_sql), sql.Identifier(column.name))
        try:
            with self.conn.transaction():
                return bool(self.conn.execute(query, (adapt(column, value),)).fetchone()[0])
        except psycopg.Error:
            return False

    def candidates(self, column: Column, checks: list) -> list[Any]:
        n = next(self.counter)
        text = " ".join(c.expression for c in checks)
        literals = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", text)]
        numbers = [int(m) for m in re.findall(r"(?<![\w.'])-?\d+(?![\w.])", _no_literals(text))]
        base = column.base_type
        if column.enum_labels:
            return list(column.enum_labels)
        if base in ("text", "varchar", "bpchar", "citext", "name"):
            token = uuid.uuid4().hex[:8]
            # unique across factories too (concurrent writers each have one): the counter alone
            # is not, so the last shapes carry the token as well before a bare letter and digits
            values = [*literals, f"{column.name}-{n}-{token}", f"{column.name}{n}.{token}@example.test",
                      f"x{n}{token}", f"x{n}"]
            limit = column.typmod - 4 if base in ("varchar", "bpchar") and column.typmod > 4 else None
            return [v[-limit:] if limit else v for v in values]
        if base in ("int2", "int4", "int8"):
            return [n, *numbers, *(x + 1 for x in numbers), 1, 0]
        if base in ("numeric", "float4", "float8", "money"):
            return [Decimal(n), *map(Decimal, numbers), Decimal(1)]
        simple = self._simple(column, n)
        return [simple] if simple is not None else []

    @staticmethod
    def _simple(column: Column, n: int) -> Any:
        base = column.base_type
        if base == "uuid":
            return uuid.uuid4()
        if base == "vector":
            return "[" + ",".join(["0"] * (column.typmod if column.typmod > 0 else 3)) + "]"
        return {"bool": True, "timestamptz": datetime.now(UTC), "timestamp": datetime.now(),
                "date": date.today(), "time": time(12), "interval": timedelta(0), "bytea": b"x",
                "json": {}, "jsonb": {}, "inet": "127.0.0.1", "cidr": "127.0.0.0/8"}.get(
            base, [] if column.category == "A" else None)

    def fresh_value(self, column: Column, purpose: str) -> Any:
        if column.base_type == "uuid":
            return uuid.uuid4()
        if column.base_type in ("int2", "int4", "int8", "numeric"):
            return 1_000_000 + next(self.counter) * 7919 + uuid.uuid4().int % 7919
        if column.category == "S":
            return f"{purpose}-{uuid.uuid4().hex[:12]}"
        raise SeedingFailure(f"the tenant column has type {column.type_sql}, for which the row "
                               "factory cannot make fresh tenant ids")


def cannot_build(table: Table, column: str | None, problem: str) -> SeedingFailure:
    """The factory's failure for a row of ``table`` it cannot build, with the adapter's fix."""
    where = f"{table.qualified}.{column}" if column else table.qualified
    return SeedingFailure(
        f"the row factory cannot build a row for {table.qualified}", [(
            "row factory", f"{where} {problem}.\nfix: have the target adapter return a value for "
            f"it from row_overrides({table.name!r}), e.g. {{{(column or 'column')!r}: ...}}")])


def _no_literals(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", text)
