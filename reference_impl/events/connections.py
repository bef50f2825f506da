"""One app-role connection per thread, reused across operations, as a consumer keeps one.

A consumer that opened a connection per event would measure connection setup, not itself. Each
thread keeps its own connection (never shared: a transaction belongs to one thread); one that
was closed or broken (a crash test terminates backends) is replaced on the next use. Every
operation still runs in its own transaction bound to its workspace (``bound_workspace``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class AppConnections:
    db: Any

    @contextmanager
    def _app(self) -> Iterator[psycopg.Connection]:
        local = self.__dict__.setdefault("_app_connections", threading.local())
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = local.conn = self.db.connect_app()
        try:
            yield conn
        finally:
            if conn.broken or conn.closed:
                local.conn = None
