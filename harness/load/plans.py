"""The hot list query's plan, judged by its structure (``EXPLAIN (FORMAT JSON)``), not its text.

A page of a tenant's rows is cheap only when the database reads about one page of rows: the
tenant filter is an index condition, the ORDER BY comes out of that same index in order, and
the LIMIT sits directly over that ordered scan, so the scan stops after the page. Three plan
shapes break it, whatever the query's text says:

- no ``Limit`` over the scan of the table: every row of the tenant leaves the database and the
  application cuts the page (fetch-all paging);
- a ``Sort`` (top-N heapsort included) between the ``Limit`` and the scan: the whole tenant is
  read and sorted before the first row of the page is known (a lost sort index);
- a sequential scan of the table, or an index scan whose index condition does not name the
  tenant column: the filter is applied row by row.

:func:`judge_plan` walks the plan tree and returns each problem with the node that shows it;
:func:`json_plan` takes the generic plan of a statement as ``pg_stat_statements`` recorded it
(``$n`` parameters), as the app role acting for a tenant, so the row-level security quals are in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from harness.target import BindingSpec
from harness.tenancy import Principal, bind

__all__ = ["PlanVerdict", "judge_plan", "json_plan", "page_plan"]

_SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan",
          "Tid Range Scan", "Sample Scan")
# nodes that hand rows on as they come: a Limit over them still stops the scan early
_STREAMING = ("Subquery Scan", "Result", "Memoize", "Gather Merge", "Append", "Merge Append",
              "Nested Loop")


@dataclass(frozen=True)
class PlanVerdict:
    problems: tuple[str, ...]
    scan: str | None               # how the table is read: "Index Scan Backward using work_items_created_idx"
    limited: bool                  # a Limit sits over the table's scan with nothing blocking in between

    @property
    def passed(self) -> bool:
        return not self.problems


def json_plan(owner: psycopg.Connection, statement: str, app_role: str, binding: BindingSpec,
              principal: Principal) -> dict[str, Any]:
    """The generic plan (PostgreSQL 16+) of ``statement`` as ``app_role`` bound to ``principal``;
    raises psycopg.Error when the server cannot plan it."""
    with owner.transaction(force_rollback=True):
        owner.execute(sql.SQL("set local role {}").format(sql.Identifier(app_role)))
        bind(owner, binding, principal)
        row = owner.execute(f"explain (generic_plan, format json) {statement}").fetchone()
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return document[0]["Plan"]


def _walk(node: dict[str, Any], path: tuple[dict[str, Any], ...] = ()) -> Iterator[tuple[dict, tuple]]:
    """Every node with the chain of its ancestors (root first)."""
    yield node, path
    for child in node.get("Plans", []):
        yield from _walk(child, (*path, node))


def _scans_of(plan: dict[str, Any], table: str) -> list[tuple[dict, tuple]]:
    found = []
    for node, path in _walk(plan):
        if node.get("Relation Name") == table and node.get("Node Type") in _SCANS:
            found.append((node, path))
        # a bitmap heap scan reads through its bitmap index scans: judge the index condition there
    return found


def page_plan(statements: Sequence[str], plan_of: Callable[[str], dict[str, Any]], table: str
              ) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(plan, statement, why there is none): the first of a list request's ``statements`` (the
    most rows per call first) whose plan reads ``table``. The page is not always the statement
    that returns the most rows: an API may have PostgreSQL render the page as one row of JSON
    (as PostgREST and the reference do), beside a token lookup that returns one row too.
    ``plan_of`` raises :class:`psycopg.Error` for a statement the server cannot plan."""
    if not statements:
        return None, None, "the list requests ran no statement the app role could be seen running"
    unplanned = None
    for statement in statements:
        try:
            plan = plan_of(statement)
        except psycopg.Error as exc:
            unplanned = unplanned or f"no generic plan of {statement[:200]!r}: {str(exc).splitlines()[0]}"
            continue
        if _scans_of(plan, table):   # a node of the plan scans the table
            return plan, statement, None
    return None, None, unplanned or (f"none of the {len(statements)} statements a list request ran "
                                     f"reads {table}: " + "; ".join(s[:120] for s in statements))


def _index_conditions(node: dict[str, Any]) -> str:
    conditions = [node.get("Index Cond", "")]
    for child, _ in _walk(node):
        if child.get("Node Type") == "Bitmap Index Scan":
            conditions.append(child.get("Index Cond", ""))
    return " ".join(c for c in conditions if c)


def _describe(node: dict[str, Any]) -> str:
    kind = node.get("Node Type", "?")
    if node.get("Scan Direction") == "Backward":
        kind += " Backward"
    if node.get("Index Name"):
        kind += f" using {node['Index Name']}"
    return f"{kind} on {node.get('Relation Name', '?')}"


def judge_plan(plan: dict[str, Any], table: str, tenant_column: str) -> PlanVerdict:
    """What keeps ``plan`` from reading one page of one tenant's rows of ``table``."""
    scans = _scans_of(plan, table)
    if not scans:
        return PlanVerdict((f"the plan reads no {table} rows at all: not the list query",), None, False)
    problems: list[str] = []
    limited = True
    for node, path in scans:
        where = _describe(node)
        if node["Node Type"] == "Seq Scan":
            problems.append(f"{where}: every row of the table is read and filtered one by one")
        elif tenant_column not in _index_conditions(node):
            problems.append(f"{where}: the index condition does not name {tenant_column} "
                            f"(condition: {_index_conditions(node) or 'none'}), so the tenant "
                            "filter is applied row by row")
        # from the scan up to the nearest Limit: only streaming nodes may sit in between
        between = []
        limit = None
        for ancestor in reversed(path):
            if ancestor.get("Node Type") == "Limit":
                limit = ancestor
                break
            between.append(ancestor)
        if limit is None:
            limited = False
            problems.append(f"{where}: no Limit over it, so every row of the tenant leaves the "
                            "database and the page is cut afterwards (fetch-all paging)")
            continue
        blocking = [n for n in between if n.get("Node Type") not in _STREAMING]
        for n in blocking:
            limited = False
            if n.get("Node Type") in ("Sort", "Incremental Sort"):
                keys = ", ".join(n.get("Sort Key", []))
                problems.append(f"{where}: a {n['Node Type']} on ({keys}) sits between the Limit "
                                "and the scan, so the whole tenant is read and sorted before the "
                                "page is known: no index serves the ORDER BY")
            else:
                problems.append(f"{where}: a {n.get('Node Type')} sits between the Limit and the "
                                "scan, so the scan cannot stop after the page")
    return PlanVerdict(tuple(problems), _describe(scans[0][0]), limited)
