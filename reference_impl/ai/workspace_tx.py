"""One app-role transaction bound to a workspace: how every AI-data operation touches the database."""

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

    @contextmanager
    def in_workspace(self, workspace: UUID) -> Iterator[psycopg.Connection]:
        with self.db.connect_app() as conn, bound_workspace(conn, self.setting, workspace):
            yield conn
