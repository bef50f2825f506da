"""Binding a connection to a workspace.

The tenant is set with ``set_config(setting, value, true)``: transaction-local, so when the
transaction ends the binding ends with it, and a pooled connection cannot carry one tenant's
identity into the next checkout. There is deliberately no session-level variant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import psycopg

__all__ = ["bind_workspace", "bound_workspace", "current_workspace"]


def bind_workspace(conn: psycopg.Connection, setting: str, workspace_id: object,
                   extra: Mapping[str, object] | None = None) -> None:
    """Binds the *current transaction* to ``workspace_id`` (and any extra settings)."""
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
        raise RuntimeError("bind_workspace needs an open transaction; use bound_workspace() "
                           "or conn.transaction() so the binding cannot outlive it")
    conn.execute("select set_config(%s, %s, true)", (setting, str(workspace_id)))
    for name, value in (extra or {}).items():
        conn.execute("select set_config(%s, %s, true)", (name, "" if value is None else str(value)))


@contextmanager
def bound_workspace(conn: psycopg.Connection, setting: str, workspace_id: object,
                    extra: Mapping[str, object] | None = None) -> Iterator[psycopg.Connection]:
    """A transaction bound to ``workspace_id``; committed on success, rolled back on error."""
    with conn.transaction():
        bind_workspace(conn, setting, workspace_id, extra)
        yield conn


def current_workspace(conn: psycopg.Connection, setting: str) -> str | None:
    value = conn.execute("select current_setting(%s, true)", (setting,)).fetchone()[0]
    return value or None
