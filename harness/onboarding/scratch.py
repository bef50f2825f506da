"""Where ``harness init`` reads a catalog: a scratch database it migrates, or the user's DSN.

``--migrations``: a private embedded server in a temporary folder, one database migrated by the
same tool the gate will use (so a migration that fails here fails the same way there), read,
then the server stopped and its files removed whatever happened. ``--dsn``: one read-only
transaction on the user's server (``default_transaction_read_only``), reading the catalog only;
the DSN is never printed.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from harness import migrations, roles
from harness.backends import get_backend
from harness.errors import ConfigError, HarnessError
from harness.onboarding.schema import Schema, read_schema
from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["read_dsn", "read_migrated"]

_SCRATCH_DB = "harness_init"


def read_migrated(spec: TargetSpec) -> Schema:
    """The catalog of ``spec``'s migrations applied to a fresh database on a private server."""
    backend = get_backend(spec)
    with tempfile.TemporaryDirectory(prefix="harness-init-") as workdir:
        state = backend.start(Path(workdir) / "server")
        try:
            with psycopg.connect(state.admin.conninfo(), autocommit=True) as admin:
                roles.ensure_role(admin, spec.app_role, secrets.token_urlsafe(24))
                admin.execute(f"create database {_SCRATCH_DB}")
            target = state.admin.with_db(_SCRATCH_DB)
            try:
                migrations.upgrade(spec, target)
            except ConfigError:
                raise
            except (HarnessError, psycopg.Error) as exc:  # the tool's own failure, or the server's
                raise ConfigError(str(spec.migrations.script_location), "migrations",
                                  f"the migrations fail on a fresh database ({_first_line(exc)})",
                                  "fix that migration, or pass --preset supabase if it needs "
                                  "Supabase's auth schema") from None
            with _read_only(target) as conn:
                return read_schema(conn)
        finally:
            backend.stop(state)


def read_dsn(params: ConnParams) -> Schema:
    """The catalog of an existing database, read in one read-only transaction."""
    try:
        with _read_only(params) as conn:
            return read_schema(conn)
    except psycopg.OperationalError as exc:
        raise ConfigError("--dsn", "", f"cannot read {params.safe()} ({_first_line(exc)})",
                          "check the host, port, database and credentials; the role needs only "
                          "to read the catalog") from None


@contextmanager
def _read_only(params: ConnParams) -> Iterator[psycopg.Connection]:
    with psycopg.connect(params.conninfo(), options="-c default_transaction_read_only=on") as conn:
        conn.execute("set transaction isolation level repeatable read")
        yield conn
        conn.rollback()


def _first_line(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(diag, "sqlstate", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{sqlstate}: {text}" if sqlstate else text
