"""The row factory: valid rows for any table, built from the catalog alone.

For a tenant table and a tenant it builds a row that the database accepts: the tenant column set,
every NOT NULL column without a default given a value of its type, foreign keys satisfied by
creating the parent rows first (in the same tenant when the parent is a tenant table), and check
constraints respected: candidate values (the literals a check names first, then generic ones)
are tried against the check expression in the database itself, so ``role IN (...)`` or
``position('@' in email) > 1`` need no special code. What the catalog cannot say (a check across
two columns, a type with no generic value, business meaning) comes from the adapter's optional
``row_overrides(table)`` hook: a mapping of column to a value or a zero-argument callable.

Rows are inserted through the connection the factory was given (the owner, for seeding), each
in a transaction (a savepoint inside an open one) bound to the row's tenant (the binding's
settings, not its role), so seeding works whether or not that role is subject to RLS. Nothing
is committed beyond what the caller's connection mode commits.

Tenants are principals (:class:`~harness.tenancy.Principal`). :meth:`RowFactory.new_principal`
asks the target adapter's ``create_tenant(label)`` when there is one (the product's own way:
a user, an account, a membership); otherwise it inserts the root row itself and the principal
is just ``{tenant_id}``.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Json, Jsonb

from harness.core.catalog import Catalog, Column, Table
from harness.evidence import EvidenceFailure
from harness.target import BindingSpec, RootOwnerSpec
from harness.tenancy import BindingError, Principal, render

__all__ = ["RowFactory", "SeededRow", "SeedingFailure", "Statement", "overrides_from", "tenant_creator"]

Overrides = Callable[[str], Mapping[str, object]]
CreateTenant = Callable[[str], Principal]
_MAX_DEPTH = 8


class SeedingFailure(EvidenceFailure):
    """The row factory cannot build a valid row of the target's tables (``context``: why)."""


@dataclass(frozen=True)
class Statement:
    """A statement and its parameters, kept apart so evidence can show both."""

    query: sql.Composable
    params: tuple[Any, ...] = ()

    def text(self, conn: psycopg.Connection) -> str:
        shown = self.query.as_string(conn)
        return shown + (f"\n  params: {list(map(_show, self.params))}" if self.params else "")


@dataclass(frozen=True)
class SeededRow:
    table: str                      # schema.name
    tenant: object | None
    values: dict[str, Any]          # the row as the database returned it
    key: tuple[Any, ...]            # primary key values (or the ctid when there is none)


def overrides_from(adapter: object | None) -> Overrides:
    """The adapter's ``row_overrides(table)`` hook, or one that overrides nothing."""
    hook = getattr(adapter, "row_overrides", None)
    if hook is None:
        return lambda table: {}
    return lambda table: hook(table) or {}


def tenant_creator(adapter: object | None) -> CreateTenant | None:
    """The adapter's ``create_tenant(label) -> Principal``, or None (the harness makes tenants)."""
    return getattr(adapter, "create_tenant", None)


class RowFactory:
    """Builds and inserts valid rows of ``catalog``'s tables through ``conn``."""

    def __init__(self, conn: psycopg.Connection, catalog: Catalog, binding: str | BindingSpec,
                 overrides: Overrides | None = None, *, create_tenant: CreateTenant | None = None,
                 root_owner: RootOwnerSpec | None = None) -> None:
        self.conn = conn
        self.catalog = catalog
        self.binding = BindingSpec.for_setting(binding) if isinstance(binding, str) else binding
        self.setting = next(iter(self.binding.settings))
        self.overrides = overrides or (lambda table: {})
        self.create_tenant = create_tenant
        self.root_owner = root_owner
        self.principals: dict[str, Principal] = {}
        self._counter = itertools.count(1)
        self._strategy: dict[tuple[str, str], int] = {}   # the candidate that satisfied the checks

    # -- tenants -----------------------------------------------------------------------------
    def new_tenant_id(self) -> object:
        """A tenant id no row uses yet, of the tenant column's type."""
        column = self._tenant_column_type()
        return self._fresh_value(column, "tenant")

    def new_tenant(self) -> object:
        """A new tenant's id; its root row (e.g. the ``workspaces`` row) exists when there is one."""
        return self.new_principal().tenant_id

    def new_principal(self, label: str = "") -> Principal:
        """A new tenant and the principal that acts for it (the adapter's, else the harness's)."""
        if self.create_tenant is not None:
            principal = self.create_tenant(label or f"tenant-{next(self._counter)}")
            if not isinstance(principal, Principal):
                raise SeedingFailure("the adapter's create_tenant() must return a "
                                       f"harness.tenancy.Principal, got {type(principal).__name__}")
        else:
            principal = Principal(self.new_tenant_id(), label=label)
            missing = self.binding.placeholders - {"tenant_id"}
            if missing:
                raise BindingError(
                    f"the binding needs {', '.join(sorted('{' + m + '}' for m in missing))}, which "
                    "the harness cannot make on its own: give the target adapter a "
                    "create_tenant(label) -> Principal")
            self.principals[str(principal.tenant_id)] = principal
            root = self.catalog.tenant_root
            if root is not None:
                self.insert(root, principal.tenant_id)
        self.principals[str(principal.tenant_id)] = principal
        return principal

    def root_row(self, tenant: object) -> SeededRow:
        """The root row of ``tenant``, however it was made (by the adapter or the factory)."""
        root = self.catalog.tenant_root
        key = self.catalog.tenant_key(root)
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(sql.SQL("select ctid::text as __ctid, * from {} where {} = %s").format(
                root.ident, sql.Identifier(key)), (tenant,)).fetchone()
        if row is None:
            raise SeedingFailure(f"tenant {tenant} has no row in {root.qualified}: the adapter's "
                                   "create_tenant() must return the new root row's key as tenant_id")
        ctid = row.pop("__ctid")
        return SeededRow(root.qualified, tenant,
                         row, tuple(row[c] for c in root.primary_key) if root.primary_key else (ctid,))

    def principal_of(self, tenant: object) -> Principal:
        return self.principals.get(str(tenant)) or Principal(tenant)

    def owner_value(self, principal: Principal) -> object | None:
        """What the root's owner column holds for ``principal`` (None: no owner column)."""
        if self.root_owner is None:
            return None
        return render(self.root_owner.value, principal, "tenancy.root_owner.value")

    # -- rows --------------------------------------------------------------------------------
    def insert(self, table: Table | str, tenant: object | None,
               fixed: Mapping[str, Any] | None = None) -> SeededRow:
        """Builds a row for ``tenant`` (parents first; ``fixed`` columns as given) and inserts it
        through the factory's connection."""
        table = self._table(table)
        row = self._insert_values(table, tenant, self.values(table, tenant, fixed=fixed))
        ctid = row.pop("__ctid")
        key = tuple(row[c] for c in table.primary_key) if table.primary_key else (ctid,)
        return SeededRow(table.qualified, tenant, row, key)

    def values(self, table: Table | str, tenant: object | None, _depth: int = 0, *,
               fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A valid row of ``table`` in ``tenant`` as column -> value; parent rows are inserted."""
        table = self._table(table)
        if _depth > _MAX_DEPTH:
            raise self._error(table, None, "foreign keys nest deeper than "
                              f"{_MAX_DEPTH} levels (a cycle of NOT NULL references?)")
        tenant_col = self.catalog.tenant_key(table)
        row: dict[str, Any] = {}
        if self.catalog.is_tenant(table) and tenant is not None:
            row[tenant_col] = tenant
        row.update(fixed or {})
        if self.catalog.is_root(table) and self.root_owner is not None and tenant is not None:
            with contextlib.suppress(BindingError):
                row[self.root_owner.column] = self.owner_value(self.principal_of(tenant))
        for name, value in dict(self.overrides(table.name) or self.overrides(table.qualified)).items():
            if name in row:
                continue  # the tenant (and the root's owner) are the factory's to choose
            if table.column(name) is None:
                raise self._error(table, name, "row_overrides names a column the table does not have")
            row[name] = value() if callable(value) else value
        self._satisfy_foreign_keys(table, tenant, row, _depth)
        for column in table.columns:
            if column.name in row or column.has_default or not column.not_null:
                continue
            row[column.name] = self._valid_value(table, column)
        return row

    def insert_statement(self, table: Table | str, values: Mapping[str, Any],
                         returning: bool = False) -> Statement:
        table = self._table(table)
        names = list(values)
        if names:
            casts = [sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(table.column(n).type_sql))
                     for n in names]
            query = sql.SQL("insert into {} ({}) values ({})").format(
                table.ident, sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(casts))
        else:
            query = sql.SQL("insert into {} default values").format(table.ident)
        if returning:
            query = query + sql.SQL(" returning ctid::text as __ctid, *")
        return Statement(query, tuple(_adapt(table.column(n), values[n]) for n in names))

    # -- internals ---------------------------------------------------------------------------
    def _satisfy_foreign_keys(self, table: Table, tenant: object | None, row: dict[str, Any],
                              depth: int) -> None:
        root = self.catalog.tenant_root
        for fk in table.foreign_keys:
            missing = [c for c in fk.columns if c not in row]
            if not missing or not any(table.column(c).not_null for c in missing):
                continue  # set already, or nullable: NULL satisfies a foreign key
            parent = self.catalog.table(fk.ref_table)
            if root is not None and parent.qualified == root.qualified and fk.ref_columns == (
                    self.catalog.tenant_key(root),) and tenant is not None:
                row[fk.columns[0]] = tenant  # a reference to the tenant itself
                continue
            if parent.qualified == table.qualified:
                raise self._error(table, fk.columns[0], "references its own table with NOT NULL")
            parent_tenant = tenant if self.catalog.is_tenant(parent) else None
            parent_values = self.values(parent, parent_tenant, depth + 1)
            created = self._insert_values(parent, parent_tenant, parent_values)
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                if column in row and row[column] != created[ref]:
                    raise self._error(table, column, f"foreign key {fk.name} needs {column} = "
                                      f"{created[ref]!r} but the row already has {row[column]!r}")
                row[column] = created[ref]

    def _insert_values(self, table: Table, tenant: object | None, values: dict[str, Any]) -> dict:
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as cur:
            if tenant is not None:
                # the settings the principal can fill (seeding as the owner: never its role)
                principal = self.principal_of(tenant)
                for name, template in self.binding.settings.items():
                    with contextlib.suppress(BindingError):
                        cur.execute("select set_config(%s, %s, true)",
                                    (name, render(template, principal)))
            statement = self.insert_statement(table, values, returning=True)
            return cur.execute(statement.query, statement.params).fetchone()

    def _valid_value(self, table: Table, column: Column) -> Any:
        checks = [c for c in table.checks if c.columns == (column.name,)]
        if any(column.name in c.columns and len(c.columns) > 1 for c in table.checks):
            raise self._error(table, column.name, "is in a check constraint over several columns, "
                              "which the factory cannot solve")
        candidates = self._candidates(column, checks)
        if not candidates:
            raise self._error(table, column.name, f"has type {column.type_sql}, for which the "
                              "factory has no generic value")
        key = (table.qualified, column.name)
        order = list(range(len(candidates)))
        if key in self._strategy:
            order.insert(0, order.pop(self._strategy[key]))
        for index in order:
            value = candidates[index]
            if not checks or self._accepted(column, checks, value):
                self._strategy[key] = index
                return value
        raise self._error(table, column.name,
                          "no generic value satisfies " + "; ".join(c.expression for c in checks))

    def _accepted(self, column: Column, checks: list, value: Any) -> bool:
        """Whether the database casts ``value`` to the column type and every check holds."""
        tests = [sql.SQL("({})").format(sql.SQL(c.expression)) for c in checks] or [sql.SQL("true")]
        query = sql.SQL("select {} from (select {}::{} as {}) as candidate").format(
            sql.SQL(" and ").join(sql.SQL("coalesce({}, true)").format(t) for t in tests),
            sql.Placeholder(), sql.SQL(column.type_sql), sql.Identifier(column.name))
        try:
            with self.conn.transaction():
                return bool(self.conn.execute(query, (_adapt(column, value),)).fetchone()[0])
        except psycopg.Error:
            return False

    def _candidates(self, column: Column, checks: list) -> list[Any]:
        n = next(self._counter)
        text = " ".join(c.expression for c in checks)
        literals = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", text)]
        numbers = [int(m) for m in re.findall(r"(?<![\w.'])-?\d+(?![\w.])", _no_literals(text))]
        base = column.base_type
        if column.enum_labels:
            return list(column.enum_labels)
        if base in ("text", "varchar", "bpchar", "citext", "name"):
            token = uuid.uuid4().hex[:8]
            values = [*literals, f"{column.name}-{n}-{token}", f"{column.name}{n}.{token}@example.test", f"x{n}"]
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

    def _fresh_value(self, column: Column, purpose: str) -> Any:
        if column.base_type == "uuid":
            return uuid.uuid4()
        if column.base_type in ("int2", "int4", "int8", "numeric"):
            return 1_000_000 + next(self._counter) * 7919 + uuid.uuid4().int % 7919
        if column.category == "S":
            return f"{purpose}-{uuid.uuid4().hex[:12]}"
        raise SeedingFailure(f"the tenant column has type {column.type_sql}, for which the row "
                               "factory cannot make fresh tenant ids")

    def _tenant_column_type(self) -> Column:
        tables = self.catalog.tenant_tables
        if not tables:
            raise SeedingFailure("no tenant tables: nothing has the column "
                                   f"{self.catalog.tenant_column}")
        root = self.catalog.tenant_root
        if root is not None:
            return root.column(self.catalog.tenant_key(root))
        return next(t for t in tables if t.has_column(self.catalog.tenant_column)).column(
            self.catalog.tenant_column)

    def _table(self, table: Table | str) -> Table:
        return table if isinstance(table, Table) else self.catalog.table(table)

    def _error(self, table: Table, column: str | None, problem: str) -> SeedingFailure:
        where = f"{table.qualified}.{column}" if column else table.qualified
        return SeedingFailure(
            f"the row factory cannot build a row for {table.qualified}", [(
                "row factory", f"{where} {problem}.\nfix: have the target adapter return a value for "
                f"it from row_overrides({table.name!r}), e.g. {{{(column or 'column')!r}: ...}}")])


def _adapt(column: Column | None, value: Any) -> Any:
    if column is not None and column.base_type in ("json", "jsonb") and isinstance(value, (dict, list)):
        return Jsonb(value) if column.base_type == "jsonb" else Json(value)
    return value


def _no_literals(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def _show(value: Any) -> str:
    return str(getattr(value, "obj", value))
