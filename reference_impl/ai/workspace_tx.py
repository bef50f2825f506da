"""One app-role transaction bound to a workspace: how every AI-data operation touches the database.

Like a service's connection pool (here a pool of one, per adapter instance), the app-role
connection is opened once and reused; the workspace binding is transaction-local
(:func:`harness.tenancy.bound_workspace`), so it ends with each operation's transaction and can
never carry one workspace into the next. A broken or closed connection is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import psycopg

from harness.lifecycle import Database
from harness.tenancy import bound_workspace


class WorkspaceTransactions:
    """Mixin for the operations classes: ``self.db`` and ``self.setting`` come from the adapter."""

    db: Database
    setting: str
    _app_connection: psycopg.Connection | None = None

    def app_connection(self) -> psycopg.Connection:
        conn = self._app_connection
        if conn is None or conn.closed or conn.broken:
            conn = self._app_connection = self.db.connect_app()
        return conn

    @contextmanager
    def in_workspace(self, workspace: UUID) -> Iterator[psycopg.Connection]:
        conn = self.app_connection()
        with bound_workspace(conn, self.setting, workspace):
            yield conn
