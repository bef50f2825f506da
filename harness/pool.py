"""A pool of clones made ahead of demand, handed out at once and dropped later (after IntegreSQL).

``CREATE DATABASE ... TEMPLATE`` costs a server tens to hundreds of milliseconds, ``DROP
DATABASE`` forces a checkpoint, and even a connection to a new clone costs milliseconds (a
backend forked, its catalog caches loaded). None of it needs to sit between a test and its first
statement: background threads keep ``size`` clones of the template ready, the next
:data:`CONNECTED_AHEAD` in line with the connections takers have been asking for already open
(:class:`ConnectAhead`), a test takes one (a queue pop), and gives it back when done, to be dropped when a thread has nothing more urgent
to do; with ``expected`` (the most takes the run will make) no more clones are made ahead than
takes are still to come. Making a clone for a waiting test comes first; then dropping, once more than
:data:`MAX_UNDROPPED` used clones pile up; then topping the pool up; then the rest of the drops.

A clone's creation mostly waits (for checkpoints, for the copy), so ``creators`` threads, each
with its own admin connection, make clones side by side: on two cores two of them make clones
nearly twice as fast as one (``benchmarks/bench_fresh_database.py``); :data:`HELPERS` more
threads prove given-back clones unchanged, open connections ahead and drop, so that neither waits
behind a clone being made.

Which connections to open ahead follows what takers used: a kind of connection (``owner``,
``app``) is opened ahead while the last clone given back had its connection of that kind taken,
so a module of tests that never connect costs no idle backends. A connection made ahead and not
taken is closed when its clone is given back. A connection refused ahead (too many clients, a
timeout under load, a wrong role) leaves the taker to connect itself and meet the reason; the kind
is tried ahead again after :data:`RETRY_AFTER`, doubling with each refusal in a row, and given up
after :data:`MAX_REFUSALS` in a row until a taker asks for one again (:meth:`ClonePool.refusal`
says the last reason and what the pool did).

A clone is handed out again only when ``reuse`` is on and :mod:`harness.unchanged` proves that
its taker changed nothing (a test that only reads); the connection that proved it goes to the
next taker, ahead of the clones still untouched. Every other clone is used by exactly one taker.
Clones still in the pool when a run ends die with the run's server (or are dropped by name on a
shared server).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

import psycopg
from psycopg import sql

from harness import unchanged
from harness.errors import HarnessError
from harness.secrets import ConnParams, redact

__all__ = ["CONNECTED_AHEAD", "MAX_REFUSALS", "MAX_UNDROPPED", "RETRY_AFTER", "ClonePool",
           "ConnectAhead", "PoolBroken", "create_clone_sql"]

# used clones kept before dropping them gets ahead of topping the pool up (disk, not time: a
# drop costs the server a third of a clone's CPU, and a throwaway server's clones need none at
# its end; 48 clones of a 10 MB template are 480 MB of its data directory)
MAX_UNDROPPED = 48

# clones next in line that hold their connections open: takers take in order, and idle backends
# count against the server's max_connections (a race suite may open a hundred of its own)
CONNECTED_AHEAD = 2

# threads beyond the creators, which prove given-back clones unchanged, open connections and drop
# but never create: a proof (a connection, ~3-7 ms) that queued behind two clones being made
# (~20-30 ms each) left one-query tests waiting (median setup 6-9 ms with two threads in all,
# 0.6 ms with two more, measured alternately on the loaded 2-core machine)
HELPERS = 2

# a kind of connection refused ahead is tried ahead again after this many seconds, doubled with
# each refusal in a row: a refusal under load (too many clients, a timeout) passes, and until it
# is retried the takers connect themselves (a refusal once stopped the opening ahead for good,
# and a test waiting for connections opened ahead then stalled)
RETRY_AFTER = 0.5
# refusals in a row after which a kind is given up until a taker asks for one again (a wrong
# role or password never passes; ~7.5 s of retries with RETRY_AFTER 0.5)
MAX_REFUSALS = 5

# kind of connection ("owner", "app") -> how to open one to the clone named
ConnectAhead = Mapping[str, Callable[[str], psycopg.Connection]]


class PoolBroken(HarnessError):
    """The pool's thread could not make a clone; the message says why."""


class ClonePool:
    """Clones of ``template`` on the server ``admin`` reaches, named by ``new_name()``."""

    def __init__(self, admin: ConnParams, template: str, new_name: Callable[[], str], size: int,
                 strategy: str | None = None, *, creators: int = 1,
                 connect_ahead: ConnectAhead | None = None, reuse: bool = False,
                 retry_after: float = RETRY_AFTER, expected: int | None = None) -> None:
        if size < 1 or creators < 1:
            raise ValueError("a pool holds at least one clone and has at least one creator")
        if expected is not None and expected < 0:
            raise ValueError("expected takes are a count, 0 or more")
        if retry_after <= 0:
            raise ValueError("retry_after is a positive number of seconds")
        self.admin = admin
        self.template = template
        self.strategy = strategy
        self.size = size
        # the most takes the run will make (None: unknown): clones are made ahead only for takes
        # still to come, so a run's last clones are not made, connected and dropped unused
        self.expected = expected
        self.taken = 0                                           # takes so far
        self.created = 0                                         # clones made so far
        self.creators = creators
        self._new_name = new_name
        self._connect_ahead = dict(connect_ahead or {})
        # proving a clone unchanged needs the owner connection (a superuser's, autocommit)
        self.reuse = reuse and "owner" in self._connect_ahead
        self._recorded: dict[str, unchanged.Recorded] = {}       # clone -> as last vouched for
        self._returned: deque[str] = deque()                     # given back, to be proven
        self._checking = 0
        self.reused = 0                                          # clones handed out again
        self.unproven: Counter[str] = Counter()                  # why given-back clones were dropped
        self._wanted = dict.fromkeys(self._connect_ahead, True)   # kinds opened ahead now
        self.retry_after = retry_after
        self._refusals = dict.fromkeys(self._connect_ahead, 0)     # kind -> refusals in a row
        self._retry_at = dict.fromkeys(self._connect_ahead, 0.0)   # kind -> not before (monotonic)
        self._refusal: dict[str, str] = {}                        # kind -> the last refusal
        self._ready: deque[str] = deque()
        self._open: dict[str, dict[str, psycopg.Connection]] = {}  # clone -> kind -> connection
        self._taken: dict[str, set[str]] = {}                     # clone -> kinds its taker took
        self._used: deque[str] = deque()
        self._creating = 0
        self._connecting: set[tuple[str, str]] = set()           # (clone, kind) being opened
        self._dropping = 0
        self._waiting = 0
        self._closed = False
        self._error: str | None = None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

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
                self.taken += 1
                self._taken[name] = set()
            finally:
                self._waiting -= 1
            self._cond.notify_all()
            return name

    def connection(self, name: str, kind: str) -> psycopg.Connection | None:
        """The ``kind`` connection opened ahead to clone ``name`` (now the caller's), or None."""
        with self._cond:
            if name in self._taken:
                self._taken[name].add(kind)
            conn = self._open.get(name, {}).pop(kind, None)
        if conn is not None and conn.closed:
            return None
        return conn

    def give_back(self, name: str) -> None:
        """A used clone, to be dropped in the background."""
        with self._cond:
            taken = self._taken.pop(name, set())
            for kind in self._wanted:
                self._wanted[kind] = kind in taken
            leftover = self._open.pop(name, {})
            if self.reuse and name in self._recorded:
                self._returned.append(name)
            else:
                self._used.append(name)
            self._cond.notify_all()
        for conn in leftover.values():
            conn.close()

    def start(self) -> None:
        """Starts filling the pool (take() also does)."""
        with self._cond:
            self._start()

    def settle(self, timeout: float = 60) -> bool:
        """Waits until every used clone is dropped (tests and orderly shutdowns)."""
        with self._cond:
            self._start()
            return self._cond.wait_for(
                lambda: (not self._used and not self._dropping and not self._returned
                         and not self._checking) or self._error is not None, timeout)

    def close(self, *, drop: bool) -> None:
        """Stops the threads; with ``drop``, drops the clones this pool still holds."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(30)
        for conns in self._open.values():
            for conn in conns.values():
                conn.close()
        self._open.clear()
        if drop:
            leftover = [*self._ready, *self._used, *self._returned]
            self._ready.clear()
            self._used.clear()
            self._returned.clear()
            if leftover:
                with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
                    for name in leftover:
                        _drop(conn, name, self.admin)

    @property
    def ready(self) -> int:
        return len(self._ready)

    def opened_ahead(self, kind: str) -> int:
        """Clones in the pool whose ``kind`` connection is already open."""
        with self._cond:
            return sum(1 for name in self._ready if kind in self._open[name])

    def ahead(self, kind: str) -> bool:
        """Whether connections of ``kind`` are opened ahead now, as the takers asked (after a
        refusal, once its back-off is over: :meth:`refusal`)."""
        with self._cond:
            return self._wanted.get(kind, False)

    def refusal(self, kind: str) -> str | None:
        """The last refusal of a ``kind`` connection opened ahead and what the pool did about it
        (kept after a later success: it explains a taker that had to connect itself)."""
        with self._cond:
            return self._refusal.get(kind)

    # -- the background threads --------------------------------------------------------------
    def _start(self) -> None:
        if not self._threads and not self._closed:
            for n in range(self.creators + (HELPERS if self.reuse or self._connect_ahead else 0)):
                thread = threading.Thread(target=self._work, name=f"harness-clone-pool-{n}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()

    def _next_job(self) -> tuple[str, str | None, str | None]:
        """What to do next, by priority; waits while there is nothing to do."""
        with self._cond:
            while True:
                coming = len(self._ready) + self._creating
                if self._closed:
                    return "stop", None, None
                may_create = self._creating < self.creators
                may_drop = self._dropping < self.creators
                checkable = self._checkable()
                if self._waiting > coming and checkable is not None:
                    return "check", self._to_check(checkable), None
                if self._waiting > coming and may_create:
                    self._creating += 1
                    return "create", None, None
                if len(self._used) > MAX_UNDROPPED and may_drop:
                    self._dropping += 1
                    return "drop", self._used.popleft(), None
                missing = self._missing_connection()
                if missing is not None:
                    self._connecting.add(missing)
                    return "connect", *missing
                if checkable is not None:   # cheaper than a new clone, and it comes with its connection
                    return "check", self._to_check(checkable), None
                if coming < self._ahead() and may_create:
                    self._creating += 1
                    return "create", None, None
                if self._used and may_drop:
                    self._dropping += 1
                    return "drop", self._used.popleft(), None
                self._cond.wait(self._until_retry())

    def _checkable(self) -> str | None:
        """The first clone given back that no connection of ours is still opening to: a
        connection opened ahead that arrives while the clone is proven counts as a session on it
        and refuses the proof (its taker took the clone before that connection was ready and
        connected itself; the late one is closed when it arrives, and the clone proven then)."""
        if not self._returned:
            return None
        opening = {clone for clone, _ in self._connecting}
        return next((name for name in self._returned if name not in opening), None)

    def _to_check(self, name: str) -> str:
        self._returned.remove(name)
        self._checking += 1
        return name

    def _ahead(self) -> int:
        """How many clones to keep ready or in the making while nobody waits: the pool's size,
        or fewer when the takes still to come are fewer (a waiting taker is served regardless)."""
        if self.expected is None:
            return self.size
        return min(self.size, max(self.expected - self.taken, 0))

    def _missing_connection(self) -> tuple[str, str] | None:
        """A clone next in line without a connection of a kind takers want now (the oldest
        first); only the first :data:`CONNECTED_AHEAD` clones get them."""
        now = time.monotonic()
        for name in itertools.islice(self._ready, CONNECTED_AHEAD):
            for kind, wanted in self._wanted.items():
                if (wanted and self._retry_at[kind] <= now and kind not in self._open[name]
                        and (name, kind) not in self._connecting):
                    return name, kind
        return None

    def _until_retry(self) -> float | None:
        """Seconds until the next refused kind may be tried ahead again (None: none waits)."""
        now = time.monotonic()
        waits = [at - now for kind, at in self._retry_at.items() if self._wanted[kind] and at > now]
        return min(waits) if waits else None

    def _work(self) -> None:
        try:
            with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
                while True:
                    job, name, kind = self._next_job()
                    if job == "stop":
                        return
                    if job == "create":
                        self._create(conn)
                    elif job == "connect":
                        self._connect(name, kind)
                    elif job == "check":
                        self._check(conn, name)
                    else:
                        try:
                            _drop(conn, name, self.admin)
                        finally:
                            with self._cond:
                                self._dropping -= 1
                                self._cond.notify_all()
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            with self._cond:
                if not self._closed:
                    self._error = f"the clone pool stopped: {type(exc).__name__}: {first}"
                self._cond.notify_all()

    def _connect(self, name: str, kind: str) -> None:
        """Opens a ``kind`` connection to a clone already in the pool."""
        refused: psycopg.Error | None = None
        try:
            conn = self._connect_ahead[kind](name)
        except psycopg.Error as exc:
            conn, refused = None, exc
        with self._cond:
            self._connecting.discard((name, kind))
            # a clone taken (and maybe dropped) while its connection was opening says nothing
            # of the kind: only a refusal to a clone still waiting counts
            if refused is not None and name in self._ready:
                self._refused(kind, refused)
            elif conn is not None:
                self._refusals[kind] = 0
            if conn is not None and name in self._open and name in self._ready:
                self._open[name][kind] = conn
                conn = None
            self._cond.notify_all()
        if conn is not None:   # taken meanwhile: its taker connected itself
            conn.close()

    def _refused(self, kind: str, exc: psycopg.Error) -> None:
        """A connection made ahead was refused: the takers connect themselves meanwhile, and meet
        the reason where it belongs; the kind is tried ahead again after a back-off, or given up
        after :data:`MAX_REFUSALS` in a row until a taker asks for one again."""
        self._refusals[kind] += 1
        n = self._refusals[kind]
        if n >= MAX_REFUSALS:
            self._wanted[kind] = False
            then = "given up until a taker asks for one again"
        else:
            delay = self.retry_after * 2 ** (n - 1)
            self._retry_at[kind] = time.monotonic() + delay
            then = f"tried ahead again after {delay:g} s"
        first = (str(exc).strip().splitlines() or [""])[0]
        self._refusal[kind] = redact(f"{type(exc).__name__}: {first} "
                                     f"(refusal {n} in a row; {then})")

    def _check(self, admin: psycopg.Connection, name: str) -> None:
        """Hands a given-back clone out again if :mod:`harness.unchanged` proves it unchanged,
        first in line with its owner connection; else it is dropped like any used clone."""
        proven: tuple[psycopg.Connection, unchanged.Recorded] | unchanged.Unproven | None = None
        try:
            proven = unchanged.prove_unchanged(admin, name, self._recorded[name],
                                               self._connect_ahead["owner"])
        finally:
            surplus: list[psycopg.Connection] = []
            with self._cond:
                self._checking -= 1
                if isinstance(proven, unchanged.Unproven):
                    self.unproven[proven.reason] += 1
                if not isinstance(proven, tuple):   # unproven, or the proof itself failed
                    self._recorded.pop(name, None)
                    self._used.append(name)
                else:
                    conn, self._recorded[name] = proven
                    self._open[name] = {"owner": conn} if self._wanted.get("owner") else {}
                    if not self._wanted.get("owner"):
                        surplus.append(conn)
                    self._ready.appendleft(name)
                    self.reused += 1
                    # idle backends stay bounded: only the clones next in line keep theirs
                    for later in itertools.islice(self._ready, CONNECTED_AHEAD, None):
                        surplus.extend(self._open[later].values())
                        self._open[later] = {}
                self._cond.notify_all()
            for conn in surplus:
                conn.close()

    def _create(self, conn: psycopg.Connection) -> None:
        """Makes one clone; its connections are opened by the "connect" job once it is next in
        line (a taker already waiting connects itself meanwhile)."""
        try:
            name = self._new_name()
            conn.execute(create_clone_sql(name, self.template, self.strategy))
            recorded = unchanged.identity(conn, name) if self.reuse else None
        except BaseException:
            with self._cond:
                self._creating -= 1
                self._cond.notify_all()
            raise
        with self._cond:   # one step, so that no other thread sees the clone neither coming nor ready
            self._creating -= 1
            self.created += 1
            self._open[name] = {}
            if recorded is not None:
                self._recorded[name] = recorded
            self._ready.append(name)
            self._cond.notify_all()


def create_clone_sql(name: str, template: str, strategy: str | None) -> sql.Composed:
    """``CREATE DATABASE name TEMPLATE template [STRATEGY ...]`` (the backend picks the strategy)."""
    statement = sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                  sql.Identifier(template))
    if strategy in ("file_copy", "wal_log"):
        statement += sql.SQL(" strategy " + strategy)
    return statement


def _drop(conn: psycopg.Connection, name: str, admin: ConnParams) -> None:
    # FORCE terminates a leaked connection first (PostgreSQL 13+), but not a transaction a test
    # prepared and left (on a server with max_prepared_transactions on): those are rolled back
    # from inside the clone, else one such test would stop the pool for every later one
    drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    try:
        conn.execute(drop)
    except psycopg.errors.ObjectInUse:
        if not _roll_back_prepared(admin, name):
            raise
        conn.execute(drop)


def _roll_back_prepared(admin: ConnParams, name: str) -> bool:
    """Rolls back the prepared transactions left on clone ``name``; whether there were any."""
    with psycopg.connect(admin.with_db(name).conninfo(), autocommit=True) as clone:
        gids = [r[0] for r in clone.execute(
            "select gid from pg_prepared_xacts where database = current_database()")]
        for gid in gids:
            clone.execute(sql.SQL("rollback prepared {}").format(sql.Literal(gid)))
    return bool(gids)
