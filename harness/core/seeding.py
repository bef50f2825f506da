"""What the row factory shares with its callers: the seeding failure, a seeded row, a statement
kept apart from its parameters, and how a target's spec and adapter shape seeding (the adapter's
``row_overrides`` and ``create_tenant`` hooks, the binding a harness-made tenant can fill, the
tables scoped through a parent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Json, Jsonb

from harness.core.catalog import Catalog, Column
from harness.evidence import EvidenceFailure
from harness.target import BindingSpec, RootOwnerSpec
from harness.tenancy import Principal

__all__ = ["CreateTenant", "Overrides", "SeededRow", "SeedingFailure", "Statement", "adapt",
           "overrides_from", "placeholders", "scoped_map", "seeding_binding", "tenant_creator"]

Overrides = Callable[[str], Mapping[str, object]]
CreateTenant = Callable[[str], Principal]


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


def seeding_binding(binding: BindingSpec, root_owner: RootOwnerSpec | None = None) -> BindingSpec:
    """The part of ``binding`` a harness-made tenant can fill, for seeding as the owner without
    an adapter: ``{tenant_id}``, and the root owner's placeholder (``{user_id}`` when
    ``tenancy.root_owner`` names the column holding it: the factory makes that user first). A
    setting needing anything else is left unset, so a trigger reading it sees no user instead of
    the tenant's id posing as one; with nothing left, a setting no product reads carries the
    tenant."""
    known = {"tenant_id", *placeholders(root_owner.value if root_owner else "")}
    settings = {name: value for name, value in binding.settings.items()
                if placeholders(value) <= known}
    return BindingSpec(settings=settings or {"harness.seed_tenant": "{tenant_id}"},
                       role=binding.role)


def placeholders(template: str) -> set[str]:
    return set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template))


def scoped_map(catalog: Catalog, scoped_through: Mapping[str, Any]) -> dict[str, str]:
    """``tenancy.scoped_through`` resolved against ``catalog``: child table (schema.name) -> its
    foreign-key column to the parent, or the parent (schema.name). Tables not (yet) there are
    left out (the walk sees the chain grow)."""
    found = {}
    for child, rule in scoped_through.items():
        try:
            table, parent = catalog.table(child), catalog.table(rule.parent)
        except KeyError:
            continue
        found[table.qualified] = rule.column or parent.qualified
    return found


def tenant_creator(adapter: object | None) -> CreateTenant | None:
    """The adapter's ``create_tenant(label) -> Principal``, or None (the harness makes tenants)."""
    return getattr(adapter, "create_tenant", None)


def adapt(column: Column | None, value: Any) -> Any:
    """``value`` as psycopg sends it for ``column`` (a dict or list as json / jsonb)."""
    if column is not None and column.base_type in ("json", "jsonb") and isinstance(value, (dict, list)):
        return Jsonb(value) if column.base_type == "jsonb" else Json(value)
    return value


def _show(value: Any) -> str:
    return str(getattr(value, "obj", value))
