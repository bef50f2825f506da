"""The database side of a load run: what it executed, how, and proof its counters move.

- ``pg_stat_statements`` (when the server preloads it): the top statements by total time during
  the run, and the generic plan (``EXPLAIN (GENERIC_PLAN)``, PostgreSQL 16+) of the hottest ones,
  planned as the app role bound to a tenant so the row-level security quals are in the plan;
- per-table counters (``pg_stat_user_tables``) and transaction counters (``pg_stat_database``),
  always available: the instrumentation check requires that they exist and move under load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from harness.target import BindingSpec
from harness.tenancy import Principal, bind

__all__ = ["Counters", "enable_statements", "generic_plans", "read_counters", "top_statements"]


@dataclass(frozen=True)
class Counters:
    tables: dict[str, dict[str, int]]      # table -> seq_scan, idx_scan, n_tup_ins, n_tup_upd
    commits: int
    statements: int | None                 # pg_stat_statements calls in this database, if available


def enable_statements(owner: psycopg.Connection) -> str | None:
    """Creates pg_stat_statements in this database and resets this database's statements (the
    seeding's; other databases of the server keep theirs); the reason when it cannot."""
    try:
        owner.execute("create extension if not exists pg_stat_statements")
        owner.execute("select pg_stat_statements_reset(0, (select oid from pg_database "
                      "where datname = current_database()), 0)")
        owner.execute("select count(*) from pg_stat_statements")
        return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def read_counters(owner: psycopg.Connection, schemas: tuple[str, ...], has_statements: bool) -> Counters:
    owner.execute("select pg_stat_clear_snapshot()")
    tables = {f"{s}.{t}": {"seq_scan": a or 0, "idx_scan": b or 0, "n_tup_ins": c or 0, "n_tup_upd": d or 0}
              for s, t, a, b, c, d in owner.execute(
                  "select schemaname, relname, seq_scan, idx_scan, n_tup_ins, n_tup_upd "
                  "from pg_stat_user_tables where schemaname = any(%s)", (list(schemas),))}
    commits = owner.execute("select xact_commit from pg_stat_database "
                            "where datname = current_database()").fetchone()[0]
    statements = None
    if has_statements:
        statements = owner.execute("select coalesce(sum(calls), 0) from pg_stat_statements s "
                                   "join pg_database d on d.oid = s.dbid "
                                   "where d.datname = current_database()").fetchone()[0]
    return Counters(tables, int(commits), None if statements is None else int(statements))


def top_statements(owner: psycopg.Connection, limit: int = 10) -> list[dict[str, Any]]:
    rows = owner.execute("""
        select s.query, s.calls, round(s.total_exec_time::numeric, 2), round(s.mean_exec_time::numeric, 3),
               s.rows
          from pg_stat_statements s join pg_database d on d.oid = s.dbid
         where d.datname = current_database() and s.query !~* '^\\s*(begin|commit|rollback|set|select set_config|show)'
         order by s.total_exec_time desc limit %s""", (limit,)).fetchall()
    return [{"query": q, "calls": c, "total_ms": float(t), "mean_ms": float(m), "rows": r}
            for q, c, t, m, r in rows]


def generic_plans(owner: psycopg.Connection, statements: list[dict[str, Any]], app_role: str,
                  binding: BindingSpec, principal: Principal, limit: int = 3) -> dict[str, str]:
    """EXPLAIN (GENERIC_PLAN) of the hottest SELECTs, as the app role acting for ``principal``."""
    plans = {}
    for statement in [s for s in statements if s["query"].lstrip().lower().startswith("select")][:limit]:
        try:
            with owner.transaction(force_rollback=True):
                owner.execute(sql.SQL("set local role {}").format(sql.Identifier(app_role)))
                bind(owner, binding, principal)
                rows = owner.execute(f"explain (generic_plan, costs off) {statement['query']}").fetchall()
            plans[statement["query"]] = "\n".join(r[0] for r in rows)
        except psycopg.Error as exc:
            plans[statement["query"]] = f"(no generic plan: {str(exc).splitlines()[0]})"
    return plans
