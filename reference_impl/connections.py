"""App-role connections kept and reused across operations, as a service keeps a pool.

An adapter that opened a connection per operation would measure connection setup (a backend
forked and authenticated: ~2 ms of server CPU each here), not the target. An operation borrows
an idle connection (or opens one when none is idle) and gives it back when it is done; a
borrowed connection is never shared, so callers that hold several at once (racers, each on a
session of its own) get as many, and a thread that ends loses none. One that was closed or
broken (a crash test terminates backends) is dropped, not given back.

Every operation still runs in its own transaction bound to its workspace
(:meth:`AppConnections.in_workspace`).
Nothing of one borrower reaches the next: a transaction left open (an error outside a
transaction block) is rolled back, as closing the connection would, and the transaction
characteristics a borrower set (``isolation_level``, ``read_only``, ``deferrable``,
``autocommit``) are put back as they were opened. :meth:`AppConnections.close` closes every
connection opened, idle or not (the harness calls an adapter's ``close()`` after its test).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus

from harness.tenancy import bound_workspace

# what a borrower may change on a connection, put back before the next one borrows it
_CHARACTERISTICS = ("autocommit", "isolation_level", "read_only", "deferrable")


class _Kept:
    """The idle connections, and every connection opened (weakly) with how it was opened."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[psycopg.Connection] = []
        self.opened: weakref.WeakKeyDictionary[psycopg.Connection, tuple] = weakref.WeakKeyDictionary()

    def take(self) -> psycopg.Connection | None:
        with self.lock:
            while self.idle:
                conn = self.idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
        return None

    def add(self, conn: psycopg.Connection) -> None:
        with self.lock:
            self.opened[conn] = tuple(getattr(conn, name) for name in _CHARACTERISTICS)

    def give_back(self, conn: psycopg.Connection) -> None:
        defaults = self.opened.get(conn)
        if conn.closed or conn.broken or defaults is None:   # None: closed by close() meanwhile
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.rollback()
            for name, value in zip(_CHARACTERISTICS, defaults, strict=True):
                if getattr(conn, name) != value:
                    setattr(conn, name, value)
        except psycopg.Error:
            conn.close()
            return
        with self.lock:
            if conn in self.opened:       # not closed by close() meanwhile
                self.idle.append(conn)

    def close(self) -> None:
        with self.lock:
            opened, self.idle = list(self.opened), []
            self.opened = weakref.WeakKeyDictionary()
        for conn in opened:
            conn.close()


class AppConnections:
    """Mixin for the reference's operations classes: ``self.db`` and ``self.setting`` come from
    the adapter."""

    db: Any
    setting: str

    def _kept(self) -> _Kept:
        kept = self.__dict__.get("_app_kept")
        if kept is None:
            with _CREATE_LOCK:
                kept = self.__dict__.setdefault("_app_kept", _Kept())
        return kept

    @contextmanager
    def _app(self) -> Iterator[psycopg.Connection]:
        kept = self._kept()
        conn = kept.take()
        if conn is None:
            conn = self.db.connect_app()
            kept.add(conn)
        try:
            yield conn
        finally:
            kept.give_back(conn)

    @contextmanager
    def in_workspace(self, workspace: UUID) -> Iterator[psycopg.Connection]:
        """A borrowed connection in one transaction bound to ``workspace``; the binding is
        transaction-local, so it ends with the transaction and never reaches the next one."""
        with self._app() as conn, bound_workspace(conn, self.setting, workspace):
            yield conn

    def close(self) -> None:
        """Closes every connection opened (each is opened again if used later)."""
        self._kept().close()


_CREATE_LOCK = threading.Lock()
