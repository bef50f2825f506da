"""Lineage across the whole catalog (S05.chunk-traceability): no row points into another workspace.

Chunks point to their document and version, citations to chunks, jobs to versions, tool calls
to runs. Rather than check one table, these checks walk every foreign key between tenant tables
that the catalog shows (:func:`harness.core.read_catalog`), so a reference added next sprint
is covered the day its migration lands:

- :func:`unscoped_references`: a foreign key between tenant tables must map the tenant column to
  the parent's tenant column; otherwise the database will accept a child whose parent lives in
  another workspace (foreign keys are checked without RLS);
- :func:`cross_workspace_rows`: no stored row references a parent of another workspace;
- :func:`cross_workspace_insert_probes`: bound to A, the app role inserts a row whose reference
  names B's parent; the database must refuse it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from harness.core import Catalog, RowFactory
from harness.core.catalog import ForeignKey, Table
from harness.target import BindingSpec
from harness.tenancy import Principal, bind

__all__ = ["cross_workspace_insert_probes", "cross_workspace_rows", "tenant_references",
           "unscoped_references"]


def tenant_references(catalog: Catalog) -> list[tuple[Table, ForeignKey, Table]]:
    """Every (child, foreign key, parent) where both tables are tenant tables and the key names
    more than the tenant column (a plain reference to the tenant root is not lineage)."""
    found = []
    for child in catalog.tenant_tables:
        for fk in child.foreign_keys:
            parent = catalog.table(fk.ref_table)
            if catalog.is_tenant(parent) and set(fk.columns) - {catalog.tenant_column}:
                found.append((child, fk, parent))
    return found


def unscoped_references(catalog: Catalog) -> list[dict[str, Any]]:
    col = catalog.tenant_column
    return [{"table": child.qualified, "foreign key": fk.name, "columns": list(fk.columns),
             "references": f"{parent.qualified} ({', '.join(fk.ref_columns)})",
             "fix": f"make it ({col}, ...) REFERENCES {parent.qualified} ({col}, ...)"}
            for child, fk, parent in tenant_references(catalog)
            if dict(zip(fk.columns, fk.ref_columns, strict=True)).get(col) != col]


def _pairs(catalog: Catalog, fk: ForeignKey) -> list[tuple[str, str]]:
    return [(c, p) for c, p in zip(fk.columns, fk.ref_columns, strict=True)
            if c != catalog.tenant_column]


def cross_workspace_rows(owner: psycopg.Connection, catalog: Catalog) -> list[dict[str, Any]]:
    """Stored rows whose referenced parent (matched on the key's other columns) is in another
    workspace; read as the owner, so RLS hides nothing."""
    col = sql.Identifier(catalog.tenant_column)
    found = []
    for child, fk, parent in tenant_references(catalog):
        join = sql.SQL(" and ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c))
                                     for c, p in _pairs(catalog, fk))
        query = sql.SQL("select count(*) from {} c join {} p on {} where p.{} <> c.{}").format(
            child.ident, parent.ident, join, col, col)
        count = owner.execute(query).fetchone()[0]
        if count:
            found.append({"table": child.qualified, "foreign key": fk.name, "rows": count,
                          "problem": f"{count} row(s) reference a {parent.qualified} row of another workspace"})
    return found


def cross_workspace_insert_probes(app: psycopg.Connection, factory: RowFactory, catalog: Catalog,
                                  binding: BindingSpec, a: object, b: object) -> list[dict[str, Any]]:
    """For every tenant reference: acting for ``a`` (through the spec's ``binding``), insert a child of ``a`` pointing at a parent
    of ``b``. Returns one observation per reference; ``leaked`` is True when it was accepted,
    ``judged`` False when it was refused for another reason than the key (nothing proven)."""
    observations = []
    for child, fk, parent in tenant_references(catalog):
        foreign = factory.insert(parent, b).values
        row = factory.values(child, a)
        for c, p in _pairs(catalog, fk):
            row[c] = foreign[p]
        statement = factory.insert_statement(child, row)
        outcome: dict[str, Any] = {"table": child.qualified, "foreign key": fk.name,
                                   "parent": parent.qualified, "sql": statement.text(app)}
        try:
            with app.transaction(force_rollback=True):
                bind(app, binding, factory.principals.get(str(a)) or Principal(a))
                app.execute(statement.query, statement.params)
            outcome.update(leaked=True, observed="accepted: A's row now points into B")
        except psycopg.Error as err:
            # the key refused it (23503 on this table), or the app role may not insert at all
            judged = err.sqlstate == "42501" or (err.sqlstate == "23503"
                                                 and err.diag.table_name == child.name)
            outcome.update(leaked=False, judged=judged,
                           observed=f"refused {err.sqlstate}: {str(err).splitlines()[0]}")
        else:
            outcome["judged"] = True
        observations.append(outcome)
    return observations
