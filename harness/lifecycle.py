"""Database lifecycle for one test run: a shared server, a migrated template, a clone per test.

One server serves the whole run, including every pytest-xdist worker. The first process that
needs it starts it, under an inter-process lock, and records it in ``server.json`` inside the
run directory (mode 0600: it holds the generated passwords); later processes attach. Each
process releases its reference when it is done and the last one out stops the server. The
process that outlives them all (the pytest controller) calls :func:`reap` to stop a server a
crashed or interrupted worker left behind, so nothing is orphaned.

The template is provisioned with the server, under the same lock, by
:mod:`harness.template_cache` (a warm run copies a cached, already migrated cluster). Each test
gets a clone of it (the janitor, after pytest-postgresql): with a pool (:mod:`harness.pool`,
the default) the clone was made ahead of demand and, after use, is handed out again if it is
proven unchanged (:mod:`harness.unchanged`) or else dropped in the background;
without one it is made with ``CREATE DATABASE ... TEMPLATE`` on the spot and dropped on exit.
Drops terminate connections first, so a leaked connection cannot keep a clone alive.

The run directory also records its owner (the controller's PID), so that a run killed outright
(SIGKILL) can be recognised and cleaned up by the next one (:mod:`harness.leftovers`).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import fasteners
import psycopg
from psycopg import sql

from harness import passfile, roles, template_cache
from harness.backends import ServerState, get_backend, require_extensions
from harness.errors import UnsafeAppRole
from harness.pool import ClonePool, create_clone_sql
from harness.run_directory import RUN_PREFIX, claim_run_directory, process_identity, run_directory
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["DEFAULT_POOL_CREATORS", "DEFAULT_POOL_SIZE", "RUN_PREFIX", "Database", "Run", "claim_run_directory", "reap",
           "record_server", "run_directory", "server_recorded"]

DEFAULT_POOL_SIZE = 8
# threads (each with its own admin connection) making clones side by side: a clone mostly waits
# (checkpoints, the copy), so two make clones nearly twice as fast as one, even on two cores
DEFAULT_POOL_CREATORS = 2
_counter = itertools.count(1)


@dataclass(frozen=True)
class Database:
    """One database of the target: how the owner and the app role reach it."""

    name: str
    owner: ConnParams = field(repr=False)
    app: ConnParams = field(repr=False)
    spec: TargetSpec = field(repr=False)
    # on a shared server whose app role existed before us we do not know (or change) its
    # password: the owner logs in and switches to the role for the whole session instead
    app_via_set_role: bool = False

    def connect_owner(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.owner.conninfo(), **kwargs)

    def connect_app(self, **kwargs: Any) -> psycopg.Connection:
        if not self.app_via_set_role:
            return psycopg.connect(self.app.conninfo(), **kwargs)
        conn = psycopg.connect(self.owner.conninfo(), **{**kwargs, "autocommit": True})
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(self.spec.app_role)))
        conn.autocommit = kwargs.get("autocommit", False)
        return conn


class Run:
    """The database side of one test run, shared across the processes of that run."""

    def __init__(self, spec: TargetSpec, run_id: str, *, fresh: bool = False,
                 pool_size: int = DEFAULT_POOL_SIZE, reuse: bool = True) -> None:
        self.spec = spec
        self.run_id = run_id
        self.fresh = fresh          # rebuild the cached template instead of reusing it
        self.pool_size = pool_size  # 0: no pool, clone on demand
        self.reuse = reuse          # hand out again a clone proven unchanged (harness.unchanged)
        self.tag = "".join(ch for ch in run_id.lower() if ch.isalnum())[:10]
        self.dir = run_directory(run_id)
        self._lock = fasteners.InterProcessLock(str(self.dir / "lock"))
        self._state_file = self.dir / "server.json"
        self._record: dict[str, Any] | None = None
        self._pool: ClonePool | None = None
        self._expected_clones: int | None = None
        self._app_role_problems: list[str] | None = None

    # -- the shared server -------------------------------------------------------------------
    def acquire(self) -> ServerState:
        """Starts the run's server, or attaches to it, and holds a reference until release()."""
        with self._lock:
            record = self._read()
            if record is None:
                record = self._start()
            if os.getpid() not in record["refs"]:
                record["refs"].append(os.getpid())
                record["owners"].append(process_identity(os.getpid()))
            self._write(record)
            self._record = record
            return ServerState.from_json(record["server"])

    def _start(self) -> dict[str, Any]:
        """Starts the server with its template (cached where the backend allows) and the app role."""
        require_extensions(self.spec)
        backend = get_backend(self.spec)
        password = secrets.token_urlsafe(24)
        created: list[bool] = []

        def ensure_app_role(state: ServerState) -> None:
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                created.append(roles.ensure_role(admin, self.spec.app_role, password))

        def own(state: ServerState) -> ServerState:
            """Our own server: its conninfo names the run's password file (harness.passfile),
            rewritten whenever the server's passwords are known, never the password itself."""
            path = passfile.remember(self.dir, state.admin, state.admin.as_user(self.spec.app_role, password))
            return replace(state, admin=passfile.using(state.admin, path))

        def build_cached(state: ServerState) -> None:
            state = own(state)
            ensure_app_role(state)
            template_cache.build_template(self.spec, state.admin, template_cache.CACHED_TEMPLATE)

        kind = self.spec.database.backend
        if kind == "embedded":
            key = template_cache.template_key(self.spec, template_cache.embedded_build())
            state, source = template_cache.ClusterCache(key).provision(
                backend, self.dir / "server", build_cached, fresh=self.fresh)
            state = own(state)
            template = template_cache.CACHED_TEMPLATE
        else:
            state = backend.start(self.dir / "server")
            state = state if kind == "dsn" else own(state)
            # recorded at once: if anything below fails, release/reap can still stop the server
            self._write({"server": state.to_json(), "refs": [], "owners": [], "template": None})
            ensure_app_role(state)
            if kind == "dsn":
                key = template_cache.template_key(self.spec, "dsn")
                template, source = template_cache.kept_template(self.spec, state.admin, key,
                                                                fresh=self.fresh)
            else:
                template, source = f"harness_{self.tag}_template", "built"
                template_cache.build_template(self.spec, state.admin, template)
        record = {"server": state.to_json(), "refs": [], "owners": [], "template": template,
                  "template_source": source, "app_password": password, "app_role_created": False}
        self._write(record)
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            record["server"]["version"] = admin.execute("show server_version").fetchone()[0]
            ensure_app_role(state)
            record["app_role_created"] = created[0] if kind == "dsn" else True
            if kind != "dsn":  # our own server: the role (maybe from the cache) gets this run's password
                admin.execute(sql.SQL("alter role {} password {}").format(
                    sql.Identifier(self.spec.app_role), sql.Literal(password)))
        return record

    def release(self) -> None:
        """Drops this process's reference; the last process out stops the server."""
        if self._pool is not None:
            # a shared (dsn) server outlives us: leave nothing of ours on it
            self._pool.close(drop=self.server.backend == "dsn")
            self._pool = None
        with self._lock:
            record = self._read()
            if record is None:
                return
            record["refs"] = [pid for pid in record["refs"] if pid != os.getpid()]
            record["owners"] = [o for o in record.get("owners", []) if o["pid"] != os.getpid()]
            if record["refs"]:
                self._write(record)
                return
            self._shutdown(record)

    def _shutdown(self, record: dict[str, Any]) -> None:
        state = ServerState.from_json(record["server"])
        if state.backend == "dsn":
            self._drop_own_databases(state)
        get_backend(self.spec).stop(state)
        self._state_file.unlink(missing_ok=True)
        passfile.remove(self.dir)

    def _drop_own_databases(self, state: ServerState) -> None:
        with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
            names = admin.execute("select datname from pg_database where datname like %s",
                                  (f"harness\\_{self.tag}\\_%",)).fetchall()
            for (name,) in names:
                _drop(admin, name)

    # -- template and clones -----------------------------------------------------------------
    @property
    def server(self) -> ServerState:
        assert self._record is not None, "acquire() first"
        return ServerState.from_json(self._record["server"])

    def template(self) -> str:
        """The migrated template database (provisioned with the server)."""
        with self._lock:
            record = self._read()
            assert record is not None and record.get("template"), "acquire() first"
            self._record = record
            return record["template"]

    @property
    def template_source(self) -> str:
        """``cache`` when this run started without migrating, ``built`` when it migrated."""
        assert self._record is not None, "acquire() first"
        return self._record.get("template_source", "built")

    def database(self, name: str) -> Database:
        record = self._record
        assert record is not None, "acquire() first"
        state = ServerState.from_json(record["server"])
        owner = state.admin.with_db(name)
        app = owner.as_user(self.spec.app_role, record["app_password"])
        if owner.passfile is not None:   # the run's password file holds the app role's too
            app = passfile.using(app, Path(owner.passfile))
        via_set_role = state.backend == "dsn" and not record["app_role_created"]
        return Database(name=name, owner=owner, app=app, spec=self.spec, app_via_set_role=via_set_role)

    def create_empty(self, label: str = "empty") -> Database:
        """A new database with nothing migrated (for migration rehearsals)."""
        name = self._new_name(label)
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.database(name)

    def clone(self, label: str = "db") -> Database:
        """A clone of the template nobody else has used (from the pool when there is one)."""
        if self.pool_size > 0:
            return self.database(self._clone_pool().take())
        name = self._new_name(label)
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            admin.execute(create_clone_sql(name, self.template(), self._strategy))
        return self.database(name)

    def drop(self, db: Database) -> None:
        """Drops ``db`` now, terminating its connections."""
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            _drop(admin, db.name)

    def discard(self, db: Database) -> None:
        """Drops ``db`` in the background when there is a pool, else now."""
        if self._pool is not None:
            self._pool.give_back(db.name)
        else:
            self.drop(db)

    @contextmanager
    def fresh_database(self, label: str = "db") -> Iterator[Database]:
        """The janitor: a clone of the template on enter, discarded on exit whatever happened."""
        db = self.clone(label)
        try:
            yield db
        finally:
            self.discard(db)

    @property
    def _strategy(self) -> str | None:
        return self.server.handle.get("clone_strategy")

    @property
    def pool(self) -> ClonePool | None:
        return self._pool

    def start_pool(self, expected: int | None = None) -> None:
        """Starts making clones ahead of demand now rather than at the first clone(); with
        ``expected`` (the most clones this process will take), never more ahead than that."""
        if self.pool_size > 0:
            if self._pool is None:
                self._expected_clones = expected
            self._clone_pool().start()

    def _clone_pool(self) -> ClonePool:
        if self._pool is None:
            connect_ahead = {
                "owner": lambda name: self.database(name).connect_owner(autocommit=True),
                "app": lambda name: self.database(name).connect_app(),
            }
            self._pool = ClonePool(self.server.admin, self.template(),
                                   lambda: self._new_name("pool"), self.pool_size, self._strategy,
                                   creators=DEFAULT_POOL_CREATORS, connect_ahead=connect_ahead,
                                   reuse=self.reuse, expected=self._expected_clones)
        return self._pool

    # -- connections -------------------------------------------------------------------------
    def owner_connection(self, db: Database) -> psycopg.Connection:
        """The owner role on ``db``, autocommit (opened ahead by the pool where it could)."""
        conn = self._pool.connection(db.name, "owner") if self._pool is not None else None
        return conn if conn is not None else db.connect_owner(autocommit=True)

    def app_connection(self, db: Database) -> psycopg.Connection:
        """The app role on ``db`` (opened ahead by the pool where it could)."""
        conn = self._pool.connection(db.name, "app") if self._pool is not None else None
        return conn if conn is not None else db.connect_app()

    def require_safe_app_role(self, conn: psycopg.Connection) -> None:
        """Refuses an app role that bypasses RLS (:func:`harness.roles.require_safe_app_role`),
        asking the server once per process: role attributes are the server's, and every clone's
        tables are the template's, owned as in the template."""
        if self._app_role_problems is None:
            self._app_role_problems = roles.app_role_problems(conn, self.spec.app_role,
                                                              self.spec.tenancy.schemas)
        if self._app_role_problems:
            raise UnsafeAppRole(roles.unsafe_app_role_message(self.spec.app_role,
                                                              self._app_role_problems))

    def _new_name(self, label: str) -> str:
        safe = "".join(ch for ch in label.lower() if ch.isalnum() or ch == "_")[:20] or "db"
        return f"harness_{self.tag}_{os.getpid()}_{next(_counter)}_{safe}"

    # -- the record on disk ------------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        if not self._state_file.exists():
            return None
        return json.loads(self._state_file.read_text())

    def _write(self, record: dict[str, Any]) -> None:
        _write_record(self._state_file, record)


def _write_record(state_file: Path, record: dict[str, Any]) -> None:
    """``server.json``, whole or not at all (it holds passwords: mode 0600)."""
    tmp = state_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh)
    tmp.replace(state_file)


def record_server(directory: Path, state: ServerState) -> None:
    """Records a server this process alone owns (a test helper's, outside any :class:`Run`) in
    ``directory/server.json`` as a run records its own, so that if the process dies first the
    stale-run cleanup and ``harness doctor`` find the server and stop it by PID."""
    pid = os.getpid()
    _write_record(directory / "server.json", {"server": state.to_json(), "refs": [pid],
                                              "owners": [process_identity(pid)], "template": None})


def server_recorded(run_id: str) -> bool:
    """Whether a server of this run is still recorded (a worker died or was interrupted): only
    then does :func:`reap` need the spec, whose loading imports the target's adapter."""
    return (run_directory(run_id) / "server.json").exists()


def reap(spec: TargetSpec | None, run_id: str) -> bool:
    """Stops a server that is still recorded for this run (a worker died or was interrupted),
    with ``spec`` (None only when :func:`server_recorded` said no server is).

    Called by the one process that outlives every other of the run. Returns True if it had
    to stop something.
    """
    from harness.backends.embedded import remove_pgdata

    folder = run_directory(run_id)
    with fasteners.InterProcessLock(str(folder / "lock")):
        record = None
        if spec is not None:
            run = Run(spec, run_id)
            record = run._read()
            if record is not None:
                run._shutdown(record)
        # a server that failed half-way through starting left a data directory (maybe on tmpfs)
        remove_pgdata(folder / "server" / "pgdata")
    # a worker that died mid-rehearsal left its clusters, API server or load generator running
    from harness.children import reap_children

    reap_children(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return record is not None


def _drop(admin: psycopg.Connection, name: str) -> None:
    # FORCE terminates the clone's connections first (PostgreSQL 13+)
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
