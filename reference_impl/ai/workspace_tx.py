"""One app-role transaction bound to a workspace: how every AI-data operation touches the database.

The connection is the thread's own app-role connection, reused across operations
(:class:`~reference_impl.connections.AppConnections`, as the other rooms use it); the workspace
binding is transaction-local (:func:`harness.tenancy.bound_workspace`), so it ends with each
operation's transaction and can never carry one workspace into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import psycopg

from harness.lifecycle import Database
from harness.tenancy import bound_workspace
from reference_impl.connections import AppConnections


class WorkspaceTransactions(AppConnections):
    """Mixin for the operations classes: ``self.db`` and ``self.setting`` come from the adapter."""

    db: Database
    setting: str

    @contextmanager
    def in_workspace(self, workspace: UUID) -> Iterator[psycopg.Connection]:
        with self._app() as conn, bound_workspace(conn, self.setting, workspace):
            yield conn
