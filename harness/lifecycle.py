"""Database lifecycle for one test run: a shared server, a migrated template, a clone per test.

One server serves the whole run, including every pytest-xdist worker. The first process that
needs it starts it, under an inter-process lock, and records it in ``server.json`` inside the
run directory (mode 0600: it holds the generated passwords); later processes attach. Each
process releases its reference when it is done and the last one out stops the server. The
process that outlives them all (the pytest controller) calls :func:`reap` to stop a server a
crashed or interrupted worker left behind, so nothing is orphaned.

The template is migrated once per run, under the same lock. Each test gets a clone made with
``CREATE DATABASE ... TEMPLATE`` and dropped afterwards (the janitor, after pytest-postgresql):
connections to it are terminated first, so a leaked connection cannot keep it alive.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fasteners
import psycopg
from psycopg import sql

from harness import migrations, roles
from harness.backends import ServerState, get_backend
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["Database", "Run", "reap", "run_directory"]

_counter = itertools.count(1)


def run_directory(run_id: str) -> Path:
    """The directory every process of one test run shares."""
    path = Path(tempfile.gettempdir()) / f"harness-run-{run_id}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


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

    def __init__(self, spec: TargetSpec, run_id: str) -> None:
        self.spec = spec
        self.run_id = run_id
        self.tag = "".join(ch for ch in run_id.lower() if ch.isalnum())[:10]
        self.dir = run_directory(run_id)
        self._lock = fasteners.InterProcessLock(str(self.dir / "lock"))
        self._state_file = self.dir / "server.json"
        self._record: dict[str, Any] | None = None

    # -- the shared server -------------------------------------------------------------------
    def acquire(self) -> ServerState:
        """Starts the run's server, or attaches to it, and holds a reference until release()."""
        with self._lock:
            record = self._read()
            if record is None:
                state = get_backend(self.spec).start(self.dir / "server")
                record = {"server": state.to_json(), "refs": [], "template": None,
                          "app_password": secrets.token_urlsafe(24), "app_role_created": False}
                with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                    record["server"]["version"] = admin.execute("show server_version").fetchone()[0]
                    record["app_role_created"] = roles.ensure_role(admin, self.spec.app_role,
                                                                   record["app_password"])
            if os.getpid() not in record["refs"]:
                record["refs"].append(os.getpid())
            self._write(record)
            self._record = record
            return ServerState.from_json(record["server"])

    def release(self) -> None:
        """Drops this process's reference; the last process out stops the server."""
        with self._lock:
            record = self._read()
            if record is None:
                return
            record["refs"] = [pid for pid in record["refs"] if pid != os.getpid()]
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
        """The migrated template database, built once per run whoever asks first."""
        with self._lock:
            record = self._read()
            assert record is not None, "acquire() first"
            if record["template"] is None:
                name = f"harness_{self.tag}_template"
                state = ServerState.from_json(record["server"])
                with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                    _drop(admin, name)
                    admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
                try:
                    migrations.upgrade(self.spec, state.admin.with_db(name))
                except BaseException:
                    with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                        _drop(admin, name)
                    raise
                with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                    # no one may connect to a template: CREATE DATABASE ... TEMPLATE needs it idle
                    admin.execute(sql.SQL("alter database {} with allow_connections false")
                                  .format(sql.Identifier(name)))
                record["template"] = name
                self._write(record)
            self._record = record
            return record["template"]

    def database(self, name: str) -> Database:
        record = self._record
        assert record is not None, "acquire() first"
        state = ServerState.from_json(record["server"])
        owner = state.admin.with_db(name)
        app = owner.as_user(self.spec.app_role, record["app_password"])
        via_set_role = state.backend == "dsn" and not record["app_role_created"]
        return Database(name=name, owner=owner, app=app, spec=self.spec, app_via_set_role=via_set_role)

    def create_empty(self, label: str = "empty") -> Database:
        """A new database with nothing migrated (for migration rehearsals)."""
        name = self._new_name(label)
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.database(name)

    def clone(self, label: str = "db") -> Database:
        template = self.template()
        name = self._new_name(label)
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template)))
        return self.database(name)

    def drop(self, db: Database) -> None:
        with psycopg.connect(self.server.admin.conninfo(), autocommit=True) as admin:
            _drop(admin, db.name)

    @contextmanager
    def fresh_database(self, label: str = "db") -> Iterator[Database]:
        """The janitor: a clone of the template on enter, dropped on exit whatever happened."""
        db = self.clone(label)
        try:
            yield db
        finally:
            self.drop(db)

    def _new_name(self, label: str) -> str:
        safe = "".join(ch for ch in label.lower() if ch.isalnum() or ch == "_")[:20] or "db"
        return f"harness_{self.tag}_{os.getpid()}_{next(_counter)}_{safe}"

    # -- the record on disk ------------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        if not self._state_file.exists():
            return None
        return json.loads(self._state_file.read_text())

    def _write(self, record: dict[str, Any]) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        tmp.replace(self._state_file)


def reap(spec: TargetSpec, run_id: str) -> bool:
    """Stops a server that is still recorded for this run (a worker died or was interrupted).

    Called by the one process that outlives every other of the run. Returns True if it had
    to stop something.
    """
    run = Run(spec, run_id)
    with run._lock:
        record = run._read()
        if record is not None:
            run._shutdown(record)
    shutil.rmtree(run.dir, ignore_errors=True)
    return record is not None


def _drop(admin: psycopg.Connection, name: str) -> None:
    # FORCE terminates the clone's connections first (PostgreSQL 13+)
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
