"""Per-table data checksums, and which rows a round trip changed.

Rows are read as ``to_jsonb(row)`` and keyed by the primary key (the whole row when a table has
none), so a comparison can say *which* row lost *which* column, and can be restricted to the
columns that exist on both sides of a step (a column the revision itself adds cannot survive its
own downgrade). A table's checksum is the SHA-256 of its sorted rows: two tables with equal
checksums hold the same data. Reading needs a role that sees every row (a superuser or one with
BYPASSRLS): a role subject to row-level security would checksum nothing and prove nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from harness.rehearsal.failures import RehearsalFailure
from harness.rehearsal.snapshot import Snapshot

__all__ = ["TableRows", "changed_rows", "checksum", "read_rows"]

TableRows = dict[str, dict[str, dict]]      # table -> row key -> row (column -> value)


def read_rows(conn: psycopg.Connection, snapshot: Snapshot) -> TableRows:
    """Every row of every table in ``snapshot``, keyed by primary key."""
    can_see = conn.execute("select rolsuper or rolbypassrls from pg_roles "
                           "where rolname = current_user").fetchone()
    if not can_see or not can_see[0]:
        raise RehearsalFailure("the rehearsal reads data as a role subject to row-level security",
                               [("fix", "run the rehearsal's owner connection as a superuser or a "
                                        "role with BYPASSRLS (the harness's admin role)")])
    found: TableRows = {}
    for table, columns in snapshot.tables.items():
        ident = sql.SQL(table)  # regclass text: already quoted where needed
        rows = conn.execute(sql.SQL("select to_jsonb(t) from {} t").format(ident)).fetchall()
        key_cols = snapshot.keys.get(table) or columns
        found[table] = {json.dumps([r[0].get(c) for c in key_cols], default=str): r[0] for r in rows}
    return found


def checksum(rows: dict[str, dict], columns: Iterable[str] | None = None) -> str:
    """SHA-256 over the rows (restricted to ``columns``), independent of their order."""
    cols = None if columns is None else sorted(columns)
    lines = sorted(json.dumps(row if cols is None else {c: row.get(c) for c in cols},
                              sort_keys=True, default=str) for row in rows.values())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ChangedTable:
    table: str
    columns: tuple[str, ...]
    checksum_before: str
    checksum_after: str
    examples: tuple[str, ...]      # a few rows: key, column, before -> after

    def text(self) -> str:
        return (f"{self.table} over ({', '.join(self.columns)}): checksum {self.checksum_before} "
                f"-> {self.checksum_after}\n" + "\n".join(self.examples))


def changed_rows(before: TableRows, after: TableRows, keys: dict[str, set[str]],
                 columns: dict[str, tuple[str, ...]]) -> list[ChangedTable]:
    """Tables in which a row of ``keys`` is missing from ``after`` or differs in ``columns``."""
    changed = []
    for table, wanted in sorted(keys.items()):
        cols = columns[table]
        old = {k: before[table][k] for k in wanted if k in before.get(table, {})}
        new = {k: after.get(table, {}).get(k) for k in old}
        examples = []
        for key, row in old.items():
            other = new[key]
            if other is None:
                examples.append(f"  row {key}: missing")
                continue
            for col in cols:
                if row.get(col) != other.get(col):
                    examples.append(f"  row {key}: {col} {row.get(col)!r} -> {other.get(col)!r}")
        if examples:
            present = {k: v for k, v in new.items() if v is not None}
            changed.append(ChangedTable(table, cols, checksum(old, cols), checksum(present, cols),
                                        tuple(examples[:8]) + (("  ...",) if len(examples) > 8 else ())))
    return changed
