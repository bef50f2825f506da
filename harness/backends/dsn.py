"""The dsn backend: an existing PostgreSQL server (staging, a managed database).

The harness starts and stops nothing here. It creates its own databases and roles on that
server, and drops only the databases whose names it gave them.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from harness.backends import Diagnosis, ServerState
from harness.errors import BackendUnavailable
from harness.secrets import ConnParams

__all__ = ["DsnBackend"]


class DsnBackend:
    name = "dsn"

    def __init__(self, dsn: ConnParams | None) -> None:
        self.dsn = dsn

    def start(self, workdir: Path) -> ServerState:
        if self.dsn is None:
            raise BackendUnavailable("dsn: no DSN given (fix: set database.dsn or export HARNESS_DSN)")
        problem = self._connect_problem()
        if problem:
            raise BackendUnavailable(f"dsn: {problem}")
        return ServerState(backend=self.name, admin=self.dsn, handle={})

    def stop(self, state: ServerState) -> None:
        """Nothing to stop: the server is not ours. Our databases are dropped by the lifecycle."""

    def diagnose(self) -> Diagnosis:
        if self.dsn is None:
            return Diagnosis(self.name, False, "no DSN given (set HARNESS_DSN or database.dsn)")
        problem = self._connect_problem()
        if problem:
            return Diagnosis(self.name, False, problem)
        return Diagnosis(self.name, True, f"reached {self.dsn.safe()}")

    def _connect_problem(self) -> str | None:
        assert self.dsn is not None
        try:
            with psycopg.connect(self.dsn.conninfo(), connect_timeout=5) as conn:
                row = conn.execute("select rolcreatedb or rolsuper, rolcreaterole or rolsuper "
                                   "from pg_roles where rolname = current_user").fetchone()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            # libpq messages name host and port but never the password
            return f"cannot connect to {self.dsn.safe()}: {first}"
        if not row or not row[0]:
            return f"{self.dsn.user} may not CREATE DATABASE (fix: ALTER ROLE {self.dsn.user} CREATEDB)"
        if not row[1]:
            return f"{self.dsn.user} may not CREATE ROLE (fix: ALTER ROLE {self.dsn.user} CREATEROLE)"
        return None
