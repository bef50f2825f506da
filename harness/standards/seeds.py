"""Seed and fixture data (``S01.seed-data-validation``): it loads through the app role and
satisfies every constraint.

A seed file (YAML, listed in the spec's ``standards.seeds``) holds global identities and, per
tenant, rows by table in insertion order::

    identities:
      users:
        - {user_id: 6f1d..., email: ada@acme.test}
    tenants:
      - tenant: 0b7c...                 # bound to the tenant setting while its rows load
        rows:
          workspaces: [{workspace_id: 0b7c..., name: Acme}]
          memberships: [{user_id: 6f1d..., role: owner}]

A seed file may also list rows the schema must refuse (``refused:``, each with its tenant, table,
row and the SQLSTATE expected); they are tried as the app role and rolled back.

The tenant column is filled in when a row leaves it out. Every row is inserted as the app role in
its own savepoint, so one bad row does not hide the next; deferred constraints are checked
before commit; then each tenant's rows are read back bound to it. A violation names the file,
the row, the SQLSTATE, the constraint and the table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql
from psycopg.types.json import Jsonb

from harness.errors import ConfigError
from harness.standards.failures import Finding
from harness.target import TargetSpec
from harness.tenancy import Principal, bound
from harness.tenancy import bind as bind_principal

__all__ = ["invariant_findings", "load_seed_file", "seed_findings"]


def load_seed_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(str(path), "", "seed file not found",
                          "fix standards.seeds in the target spec (paths are relative to it)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), "", f"cannot be read as YAML ({type(exc).__name__})",
                          "fix the file") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tenants", []), list):
        raise ConfigError(str(path), "tenants", "must be a list of {tenant, rows}",
                          "see harness/standards/seeds.py for the shape")
    return raw


def _value(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


def _insert(conn: psycopg.Connection, table: str, row: dict[str, Any]) -> None:
    statement = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)))
    conn.execute(statement, [_value(v) for v in row.values()])


def _violation(where: str, table: str, exc: psycopg.Error) -> Finding:
    diag = exc.diag
    constraint = diag.constraint_name or "-"
    message = (diag.message_primary or str(exc)).splitlines()[0]
    return Finding(where, f"seed-constraint {constraint}",
                   f"{exc.sqlstate} on {diag.table_name or table}: {message}",
                   "fix the seed row, or the constraint if the data is right")


def _load_rows(conn: psycopg.Connection, where: str, rows: dict[str, list], column: str,
               tenant: object | None, found: list[Finding], bind: Callable[[dict], dict]) -> dict:
    loaded: dict[str, int] = {}
    for table, table_rows in (rows or {}).items():
        for index, row in enumerate(table_rows or []):
            row = dict(row)
            if tenant is not None and column not in row and table.split(".")[-1] != "users":
                row[column] = tenant
            for name, value in bind(row).items():
                conn.execute("select set_config(%s, %s, true)", (name, str(value)))
            try:
                with conn.transaction():
                    _insert(conn, table, row)
                if column in row:
                    loaded[table] = loaded.get(table, 0) + 1
            except psycopg.Error as exc:
                found.append(_violation(f"{where}.{table}[{index}]", table, exc))
    return loaded


def seed_findings(connect_app: Callable[[], psycopg.Connection], spec: TargetSpec,
                  files: tuple[Path, ...] | None = None) -> list[Finding]:
    """Loads every seed file through the app role; every violation, or a row that does not read
    back in its tenant, is a finding. Nothing is kept: each file loads in its own database
    transaction, committed only when clean (the caller's database is a throwaway clone)."""
    found: list[Finding] = []
    column = spec.tenancy.column
    for path in files if files is not None else spec.standards.seeds:
        data = load_seed_file(path)
        with connect_app() as conn:
            for table, rows in (data.get("identities") or {}).items():
                rule = spec.standards.identity_tables.get(table)

                def bind(row: dict, rule=rule) -> dict:
                    return {rule.actor_setting: row.get(rule.key)} if rule and row.get(rule.key) else {}
                with conn.transaction():
                    _load_rows(conn, f"{path.name}: identities", {table: rows}, column, None, found, bind)
            for i, entry in enumerate(data.get("tenants") or []):
                where = f"{path.name}: tenants[{i}].rows"
                tenant = entry.get("tenant")
                try:  # deferred constraints are checked at commit
                    with bound(conn, spec.binding, Principal(tenant)):
                        loaded = _load_rows(conn, where, entry.get("rows"), column, tenant, found,
                                            lambda row: {})
                except psycopg.Error as exc:
                    found.append(_violation(f"{where} (at commit)", "-", exc))
                    continue
                found.extend(_read_back(conn, spec, where, tenant, loaded))
            found.extend(_refusals(conn, spec, path.name, data.get("refused") or []))
    return found


def _refusals(conn: psycopg.Connection, spec: TargetSpec, where: str, entries: list) -> list[Finding]:
    """Rows the schema must refuse (``refused:``: tenant, table, row, the SQLSTATE expected),
    inserted as the app role bound to the tenant and always rolled back: a constraint widened
    past its domain (``> 0`` made ``>= 0``) lets one through."""
    found = []
    for i, entry in enumerate(entries):
        at = f"{where}: refused[{i}]"
        if not isinstance(entry, dict) or not {"tenant", "table", "row", "sqlstate"} <= set(entry):
            found.append(Finding(at, "seed-refusal", "needs tenant, table, row and sqlstate",
                                 "fix the seed file"))
            continue
        row = {spec.tenancy.column: entry["tenant"], **entry["row"]}
        try:
            with conn.transaction(force_rollback=True):
                bind_principal(conn, spec.binding, Principal(entry["tenant"]))
                _insert(conn, entry["table"], row)
        except psycopg.Error as exc:
            if exc.sqlstate != str(entry["sqlstate"]):
                found.append(_violation(at, entry["table"], exc))
            continue
        found.append(Finding(at, "seed-refusal", f"{entry['table']} accepted {entry['row']}; "
                             f"expected SQLSTATE {entry['sqlstate']}",
                             "restore the constraint that refuses it"))
    return found


def _read_back(conn: psycopg.Connection, spec: TargetSpec, where: str, tenant: object,
               loaded: dict[str, int]) -> list[Finding]:
    found = []
    with bound(conn, spec.binding, Principal(tenant)):
        for table, count in loaded.items():
            query = sql.SQL("select count(*) from {} where {} = %s").format(
                sql.Identifier(*table.split(".")), sql.Identifier(spec.tenancy.column))
            seen = conn.execute(query, (tenant,)).fetchone()[0]
            if seen < count:
                found.append(Finding(f"{where}.{table}", "seed-read-back",
                                     f"{count} row(s) loaded for tenant {tenant}, {seen} read back "
                                     "bound to it", "seed rows must land in their own tenant"))
    return found


def invariant_findings(owner: psycopg.Connection, spec: TargetSpec) -> tuple[list[Finding], dict]:
    """The spec's business invariants (``standards.seed_invariants``: name -> a query returning
    the rows that break it, e.g. a workspace with no active owner) judged on the loaded data as
    the owner, who sees every row. Constraints cannot say "a workspace keeps an owner" (it spans
    rows), so seed data can satisfy every constraint and still describe an impossible product
    state. Each query runs read-only and is rolled back. Returns the findings and the rows each
    invariant returned (the evidence)."""
    found: list[Finding] = []
    judged: dict[str, object] = {}
    for name, query in spec.standards.seed_invariants.items():
        try:
            with owner.transaction(force_rollback=True):
                owner.execute("set transaction read only")
                cursor = owner.execute(query)
                columns = [c.name for c in cursor.description or []]
                rows = [dict(zip(columns, map(str, row), strict=True)) for row in cursor.fetchall()]
        except psycopg.Error as exc:
            judged[name] = f"SQLSTATE {exc.sqlstate}"
            found.append(Finding(name, "seed-invariant-query",
                                 f"the invariant's query fails: SQLSTATE {exc.sqlstate} "
                                 f"{(exc.diag.message_primary or '').splitlines()[0:1]}",
                                 f"fix standards.seed_invariants.{name} in {spec.path}", query))
            continue
        judged[name] = rows
        if rows:
            found.append(Finding(name, "seed-invariant",
                                 f"{len(rows)} seeded row(s) break it: {rows[:10]}",
                                 "fix the seed data (the product could never reach this state)",
                                 query))
    return found, judged
