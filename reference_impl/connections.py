"""One app-role connection per thread, reused across operations, as a service keeps a pool.

An adapter that opened a connection per operation would measure connection setup (a backend
forked and authenticated: ~2 ms of server CPU each here), not the target. Each thread keeps its
own connection (never shared: a transaction belongs to one thread); one that was closed or
broken (a crash test terminates backends) is replaced on the next use. Every operation still
runs in its own transaction bound to its workspace (``bound_workspace``): an operation that
leaves one open (an error outside a transaction block) has it rolled back as a closed
connection's would be, so nothing carries into the next. :meth:`AppConnections.close` closes
every thread's connection (the harness calls an adapter's ``close()`` after its test).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus


class AppConnections:
    db: Any

    @contextmanager
    def _app(self) -> Iterator[psycopg.Connection]:
        local = self.__dict__.setdefault("_app_connections", threading.local())
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = local.conn = self.db.connect_app()
            with self.__dict__.setdefault("_app_connections_lock", threading.Lock()):
                # weakly: a finished thread's connection goes (and closes) with its thread-local
                self.__dict__.setdefault("_app_connections_opened", weakref.WeakSet()).add(conn)
        try:
            yield conn
        finally:
            if conn.broken or conn.closed:
                local.conn = None
            elif conn.info.transaction_status != TransactionStatus.IDLE:
                try:
                    conn.rollback()
                except psycopg.Error:
                    conn.close()
                    local.conn = None

    def close(self) -> None:
        """Closes the connections every thread opened (each is opened again if used later)."""
        with self.__dict__.setdefault("_app_connections_lock", threading.Lock()):
            opened = list(self.__dict__.pop("_app_connections_opened", ()))
        for conn in opened:
            conn.close()
