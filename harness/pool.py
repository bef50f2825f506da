"""A pool of clones made ahead of demand, handed out at once and dropped later (after IntegreSQL).

``CREATE DATABASE ... TEMPLATE`` costs a server tens to hundreds of milliseconds, and ``DROP
DATABASE`` forces a checkpoint. Neither needs to sit between a test and its database: one
background thread per process keeps ``size`` clones of the template ready, a test takes one
(a queue pop), and gives it back when done, to be dropped when the thread has nothing more
urgent to do. Making a clone for a waiting test comes first; then dropping, once more than
:data:`MAX_UNDROPPED` used clones pile up; then topping the pool up; then the rest of the drops.

Every clone is used by exactly one taker and is never handed out twice. Clones still in the pool
when a run ends die with the run's server (or are dropped by name on a shared server).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import psycopg
from psycopg import sql

from harness.errors import HarnessError
from harness.secrets import ConnParams

__all__ = ["MAX_UNDROPPED", "ClonePool", "PoolBroken", "create_clone_sql"]

# used clones kept before dropping them gets ahead of topping the pool up (disk, not time)
MAX_UNDROPPED = 16


class PoolBroken(HarnessError):
    """The pool's thread could not make a clone; the message says why."""


class ClonePool:
    """Clones of ``template`` on the server ``admin`` reaches, named by ``new_name()``."""

    def __init__(self, admin: ConnParams, template: str, new_name: Callable[[], str], size: int,
                 strategy: str | None = None) -> None:
        if size < 1:
            raise ValueError("a pool holds at least one clone")
        self.admin = admin
        self.template = template
        self.strategy = strategy
        self.size = size
        self._new_name = new_name
        self._ready: deque[str] = deque()
        self._used: deque[str] = deque()
        self._waiting = 0
        self._closed = False
        self._error: str | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- for takers --------------------------------------------------------------------------
    def take(self, timeout: float = 300) -> str:
        """The name of a clone nobody else has used; waits for one if the pool is empty."""
        with self._cond:
            self._start()
            self._waiting += 1
            self._cond.notify_all()
            try:
                if not self._cond.wait_for(lambda: self._ready or self._error or self._closed, timeout):
                    raise PoolBroken(f"no clone of {self.template} within {timeout:.0f}s "
                                     "(the server is overloaded or stopped)")
                if not self._ready:
                    raise PoolBroken(self._error or "the clone pool is closed")
                name = self._ready.popleft()
            finally:
                self._waiting -= 1
            self._cond.notify_all()
            return name

    def give_back(self, name: str) -> None:
        """A used clone, to be dropped in the background."""
        with self._cond:
            self._used.append(name)
            self._cond.notify_all()

    def start(self) -> None:
        """Starts filling the pool (take() also does)."""
        with self._cond:
            self._start()

    def settle(self, timeout: float = 60) -> bool:
        """Waits until every used clone is dropped (tests and orderly shutdowns)."""
        with self._cond:
            self._start()
            return self._cond.wait_for(lambda: not self._used or self._error is not None, timeout)

    def close(self, *, drop: bool) -> None:
        """Stops the thread; with ``drop``, drops the clones this pool still holds."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(30)
        if drop:
            leftover = [*self._ready, *self._used]
            self._ready.clear()
            self._used.clear()
            if leftover:
                with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
                    for name in leftover:
                        _drop(conn, name)

    @property
    def ready(self) -> int:
        return len(self._ready)

    # -- the background thread ---------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._work, name="harness-clone-pool", daemon=True)
            self._thread.start()

    def _next_job(self) -> tuple[str, str | None]:
        """What to do next, by priority; waits while there is nothing to do."""
        with self._cond:
            while True:
                if self._closed:
                    return "stop", None
                if self._waiting > len(self._ready):
                    return "create", None
                if len(self._used) > MAX_UNDROPPED:
                    return "drop", self._used[0]
                if len(self._ready) < self.size:
                    return "create", None
                if self._used:
                    return "drop", self._used[0]
                self._cond.wait()

    def _work(self) -> None:
        try:
            with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
                while True:
                    job, name = self._next_job()
                    if job == "stop":
                        return
                    if job == "create":
                        name = self._new_name()
                        conn.execute(create_clone_sql(name, self.template, self.strategy))
                        with self._cond:
                            self._ready.append(name)
                            self._cond.notify_all()
                    else:
                        _drop(conn, name)
                        with self._cond:
                            self._used.remove(name)
                            self._cond.notify_all()
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            with self._cond:
                if not self._closed:
                    self._error = f"the clone pool stopped: {type(exc).__name__}: {first}"
                self._cond.notify_all()


def create_clone_sql(name: str, template: str, strategy: str | None) -> sql.Composed:
    """``CREATE DATABASE name TEMPLATE template [STRATEGY ...]`` (the backend picks the strategy)."""
    statement = sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                  sql.Identifier(template))
    if strategy in ("file_copy", "wal_log"):
        statement += sql.SQL(" strategy " + strategy)
    return statement


def _drop(conn: psycopg.Connection, name: str) -> None:
    # FORCE terminates a leaked connection first (PostgreSQL 13+)
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
