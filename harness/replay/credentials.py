"""Hunting for secrets at rest: known secret values searched in every column that could hold one.

The suite seeds secrets it knows through the target's own credential operations, then searches
every text, character, JSON and bytea column of every table in the target's schemas (as the
owner, so row-level security hides nothing) for each secret, plain, base64- and hex-encoded. A
hit names the table and the column: a credential must be stored as a reference only.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

import psycopg
from psycopg import sql

__all__ = ["secret_forms", "secrets_at_rest"]

_TEXTUAL = ("text", "character varying", "character", "json", "jsonb", "bytea", "USER-DEFINED")


def secret_forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(), raw.hex()]


def secrets_at_rest(owner: psycopg.Connection, schemas: Iterable[str],
                    secrets: Iterable[str]) -> list[dict[str, str]]:
    """One row per (table, column, form) where a seeded secret is found."""
    patterns = {f"%{form}%": (secret, form) for secret in secrets for form in secret_forms(secret)}
    columns = owner.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type "
        "from information_schema.columns c join information_schema.tables t "
        "  on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema = any(%s) and t.table_type = 'BASE TABLE' and c.data_type = any(%s) "
        "order by 1, 2, 3", (list(schemas), list(_TEXTUAL))).fetchall()
    hits = []
    for schema, table, column, data_type in columns:
        value = sql.SQL("encode({}, 'escape')" if data_type == "bytea" else "{}::text").format(
            sql.Identifier(column))
        query = sql.SQL("select p from unnest(%s::text[]) p where exists "
                        "(select 1 from {}.{} where {} like p)").format(
            sql.Identifier(schema), sql.Identifier(table), value)
        for (pattern,) in owner.execute(query, (list(patterns),)).fetchall():
            secret, form = patterns[pattern]
            hits.append({"table": f"{schema}.{table}", "column": column,
                         "form": "plain" if form == secret else "encoded",
                         "secret": secret[:4] + "..."})
    return hits
