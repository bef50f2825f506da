"""The tenant's hot read paths (``S00.index-baseline``): the declared queries are served by an
ordered index that leads with the tenant column.

An index that merely *exists* on the tenant column proves little: a hash or BRIN index on it
cannot return rows in order, so "this tenant's newest 50" still reads and sorts every row of the
tenant, and an index on (status, workspace_id) serves no tenant filter at all. Each query of
``standards.hot_queries`` (with ``%(tenant)s`` where the tenant id goes) is planned with
sequential scans discouraged - the question is whether an index *can* serve it, not whether the
planner prefers one on an empty table - and its plan must have

- no ``Sort`` or ``Incremental Sort`` node: the ORDER BY comes from the index's order;
- no ``Seq Scan`` node: some index serves every table the query reads;
- an index scan whose index's leading column is the tenant column: the tenant filter is the
  index's first key, so one tenant's rows are one contiguous range.

The plans (EXPLAIN FORMAT JSON) are returned for the evidence. Nothing is executed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from harness.standards.failures import Finding
from harness.target import TargetSpec

__all__ = ["hot_query_findings"]

_SORTS = {"Sort", "Incremental Sort"}
_INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _leading_column(conn: psycopg.Connection, schema: str | None, index: str) -> str | None:
    name = f"{schema}.{index}" if schema else index
    row = conn.execute("""
        select a.attname from pg_index i
          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indexrelid = to_regclass(%s)""", (sql.Identifier(*name.split(".")).as_string(conn),)
    ).fetchone()
    return row[0] if row else None


def _plan(conn: psycopg.Connection, query: str) -> dict[str, Any]:
    # an untyped literal takes the tenant column's type; nothing is run (EXPLAIN without ANALYZE)
    tenant = sql.Literal(str(uuid.uuid4())).as_string(conn)
    with conn.transaction(force_rollback=True):
        conn.execute("set local enable_seqscan = off")
        text = "explain (format json, verbose) " + query.replace("%(tenant)s", tenant)
        return conn.execute(text.encode()).fetchone()[0][0]["Plan"]


def hot_query_findings(conn: psycopg.Connection, spec: TargetSpec) -> tuple[list[Finding], dict]:
    """``conn``: the owner on the migrated database. Returns the findings and each query's plan."""
    column = spec.tenancy.column
    found: list[Finding] = []
    plans: dict[str, Any] = {}
    for name, query in spec.standards.hot_queries.items():
        try:
            plan = _plan(conn, query)
        except psycopg.Error as exc:
            plans[name] = f"SQLSTATE {exc.sqlstate}"
            found.append(Finding(name, "hot-query", f"cannot be planned: SQLSTATE {exc.sqlstate} "
                                 f"{(exc.diag.message_primary or '').splitlines()[:1]}",
                                 f"fix standards.hot_queries.{name} in {spec.path}", query))
            continue
        plans[name] = plan
        nodes = list(_nodes(plan))
        sorts = [n for n in nodes if n["Node Type"] in _SORTS]
        seq = sorted({n.get("Relation Name", "?") for n in nodes if n["Node Type"] == "Seq Scan"})
        indexes = {(n.get("Schema"), n["Index Name"]) for n in nodes if n["Node Type"] in _INDEX_SCANS}
        led = sorted(i for s, i in indexes if _leading_column(conn, s, i) == column)
        if sorts:
            keys = "; ".join(", ".join(n.get("Sort Key", [])) for n in sorts)
            found.append(Finding(name, "hot-query-order", f"the plan sorts ({keys}): no index "
                                 f"returns one tenant's rows in the query's order (indexes used: "
                                 f"{sorted(i for _, i in indexes) or 'none'})",
                                 f"a btree index on ({column}, <the ORDER BY columns>)", query))
        if seq:
            found.append(Finding(name, "hot-query-scan", f"sequential scan of {seq} even with "
                                 "sequential scans discouraged: no index serves the query",
                                 f"a btree index leading with {column} on {', '.join(seq)}", query))
        if not led:
            found.append(Finding(name, "hot-query-tenant-leading", f"no index used leads with "
                                 f"{column} (used: {sorted(i for _, i in indexes) or 'none'}): "
                                 "one tenant's rows are not one range of the index",
                                 f"a btree index on ({column}, ...)", query))
    return found, plans
