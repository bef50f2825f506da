"""The tenant's hot read paths (``S00.index-baseline``): the declared queries are served by an
ordered index that leads with the tenant column.

An index that merely *exists* on the tenant column proves little: a hash or BRIN index on it
cannot return rows in order, so "this tenant's newest 50" still reads and sorts every row of the
tenant, and an index on (status, workspace_id) serves no tenant filter at all. Each query of
``standards.hot_queries`` (with ``%(tenant)s`` where the tenant id goes) is planned twice, with
sequential scans discouraged: as the planner likes it, and - in a transaction that is rolled
back - with every index of its tenant tables hidden except the ordered (btree) ones leading with
the tenant column (on an empty table the planner may prefer walking another index, which says
nothing about whether a tenant-leading one serves the query). That second plan must have

- no ``Sort`` or ``Incremental Sort`` node: the ORDER BY comes from the index's order;
- no ``Seq Scan`` node: a tenant-leading index serves the tenant filter.

Both plans (EXPLAIN FORMAT JSON) are returned for the evidence. Nothing but EXPLAIN is run.
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


def _explain(conn: psycopg.Connection, query: str) -> dict[str, Any]:
    # an untyped literal takes the tenant column's type; nothing is run (EXPLAIN without ANALYZE)
    tenant = sql.Literal(str(uuid.uuid4())).as_string(conn)
    conn.execute("set local enable_seqscan = off")
    text = "explain (format json, verbose) " + query.replace("%(tenant)s", tenant)
    return conn.execute(text.encode()).fetchone()[0][0]["Plan"]


def _hide_other_indexes(conn: psycopg.Connection, spec: TargetSpec, plan: dict[str, Any]) -> list[str]:
    """Drops (inside the caller's rolled-back transaction) every index of the tables the plan
    reads that is not an ordered index leading with the tenant column, so the planner can only
    answer with those: on an empty table it may prefer walking another index, which says nothing
    about whether a tenant-leading one serves the query."""
    tables = sorted({f"{n['Schema']}.{n['Relation Name']}" for n in _nodes(plan)
                     if n.get("Relation Name") and n.get("Schema")})
    root = spec.tenancy.root
    hidden = []
    for index, table, constraint in conn.execute("""
        select x.oid::regclass::text, i.indrelid::regclass::text, con.conname
          from pg_index i join pg_class x on x.oid = i.indexrelid
          left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
          left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid
                                     and con.contype in ('p', 'u', 'x')
         where i.indrelid = any(select to_regclass(t)::oid from unnest(%s::text[]) t)
           and (exists (select 1 from pg_attribute c where c.attrelid = i.indrelid
                        and c.attname = %s and not c.attisdropped)
                or i.indrelid = to_regclass(%s)::oid)
           and not (pg_indexam_has_property(x.relam, 'can_order')
                    and (a.attname = %s or (i.indisprimary and i.indnatts = 1
                                            and i.indrelid = to_regclass(%s)::oid)))""",
            (tables, spec.tenancy.column, root or "", spec.tenancy.column, root or "")).fetchall():
        if constraint:
            conn.execute(sql.SQL("alter table {} drop constraint {} cascade").format(
                sql.SQL(table), sql.Identifier(constraint)))
        else:
            conn.execute(sql.SQL("drop index {}").format(sql.SQL(index)))
        hidden.append(index)
    return hidden


def _plans(conn: psycopg.Connection, spec: TargetSpec, query: str) -> dict[str, Any]:
    """The planner's own plan, and the plan with only ordered tenant-leading indexes left."""
    with conn.transaction(force_rollback=True):
        chosen = _explain(conn, query)
    with conn.transaction(force_rollback=True):
        hidden = _hide_other_indexes(conn, spec, chosen)
        tenant_only = _explain(conn, query) if hidden else chosen
    return {"plan": chosen, "hidden indexes": hidden, "plan with tenant-leading indexes only": tenant_only}


def hot_query_findings(conn: psycopg.Connection, spec: TargetSpec) -> tuple[list[Finding], dict]:
    """``conn``: the owner on the migrated database (autocommit; every DDL is rolled back).
    Returns the findings and each query's plans."""
    column = spec.tenancy.column
    found: list[Finding] = []
    plans: dict[str, Any] = {}
    for name, query in spec.standards.hot_queries.items():
        try:
            plans[name] = _plans(conn, spec, query)
        except psycopg.Error as exc:
            plans[name] = f"SQLSTATE {exc.sqlstate}"
            found.append(Finding(name, "hot-query", f"cannot be planned: SQLSTATE {exc.sqlstate} "
                                 f"{(exc.diag.message_primary or '').splitlines()[:1]}",
                                 f"fix standards.hot_queries.{name} in {spec.path}", query))
            continue
        nodes = list(_nodes(plans[name]["plan with tenant-leading indexes only"]))
        sorts = [n for n in nodes if n["Node Type"] in _SORTS]
        seq = sorted({n.get("Relation Name", "?") for n in nodes if n["Node Type"] == "Seq Scan"})
        used = sorted(n["Index Name"] for n in nodes if n["Node Type"] in _INDEX_SCANS)
        if sorts:
            keys = "; ".join(", ".join(n.get("Sort Key", [])) for n in sorts)
            found.append(Finding(name, "hot-query-order", f"the plan sorts ({keys}): no ordered "
                                 f"index leading with {column} returns one tenant's rows in the "
                                 f"query's order (indexes used: {used or 'none'})",
                                 f"a btree index on ({column}, <the ORDER BY columns>)", query))
        if seq:
            found.append(Finding(name, "hot-query-tenant-leading", f"sequential scan of {seq}: no "
                                 f"ordered index leading with {column} serves the query",
                                 f"a btree index leading with {column} on {', '.join(seq)}", query))
    return found, plans
