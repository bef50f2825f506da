"""Preflight (``S01.misconfigured-env-diagnostics``): a misconfigured data environment fails
early, with one line naming the setting, never a silent default or a traceback.

:func:`preflight` checks a target database before any suite runs: the server answers on the
configured address, the app role exists and cannot bypass row-level security, the extensions the
target uses are available, and the database is migrated to the head of the chain. Each problem
is a :class:`~harness.errors.ConfigError` (the spec file, the setting, the problem, the fix);
nothing in a message carries a password.
"""

from __future__ import annotations

import psycopg

from harness.errors import ConfigError
from harness.migrations import tool_for
from harness.secrets import ConnParams, redact
from harness.target import TargetSpec

__all__ = ["preflight"]


def preflight(spec: TargetSpec, params: ConnParams) -> list[ConfigError]:
    """Every problem found with ``spec`` on the database ``params`` reaches (owner or superuser)."""
    where = str(spec.path)
    try:
        conn = psycopg.connect(params.conninfo(), connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = redact(str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__,
                        params.password)
        setting = "database.dsn (HARNESS_DSN)" if spec.database.backend == "dsn" else "database.backend"
        return [ConfigError(where, setting, f"cannot connect to {params.safe()}: {reason}",
                            "check host, port, user and password of the DSN, and that the server runs")]
    problems: list[ConfigError] = []
    with conn:
        problems += _app_role(conn, spec, where)
        problems += _extensions(conn, spec, where)
        problems += _migrated(spec, params, where)
    return problems


def _app_role(conn: psycopg.Connection, spec: TargetSpec, where: str) -> list[ConfigError]:
    row = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = %s",
                       (spec.app_role,)).fetchone()
    if row is None:
        return [ConfigError(where, "app_role", f"role {spec.app_role!r} does not exist on the server",
                            "create it (no superuser, no BYPASSRLS) or name the right role")]
    if row[0] or row[1]:
        what = "is a superuser" if row[0] else "has BYPASSRLS"
        return [ConfigError(where, "app_role", f"role {spec.app_role!r} {what}: row-level security "
                            "never applies to it", f"ALTER ROLE {spec.app_role} NOSUPERUSER NOBYPASSRLS")]
    return []


def _extensions(conn: psycopg.Connection, spec: TargetSpec, where: str) -> list[ConfigError]:
    # one installed in the database is there, whatever the server's catalog of packages lists
    available = {name for (name,) in conn.execute(
        "select name from pg_available_extensions union select extname from pg_extension")}
    return [ConfigError(where, f"standards.extensions.{name}",
                        f"extension {name!r} is not available on the server",
                        f"install {name} on the server (e.g. the pgvector package), or remove it "
                        "from the spec if the target does not use it")
            for name in spec.standards.extensions if name not in available]


def _migrated(spec: TargetSpec, params: ConnParams, where: str) -> list[ConfigError]:
    tool = tool_for(spec)
    heads = tool.heads()
    try:
        current = tool.current(params)
    except Exception as exc:  # a tool that cannot read its bookkeeping: say so, do not crash
        return [ConfigError(where, "migrations", f"cannot read the database's revision "
                            f"({type(exc).__name__})", "check migrations.tool and the database")]
    if tuple(sorted(current)) != tuple(sorted(heads)):
        at = ", ".join(current) or "no revision (empty)"
        return [ConfigError(where, "migrations", f"database {params.dbname} is at {at}, the chain's "
                            f"head is {', '.join(heads)}",
                            "run the migrations to head before the suites (harness does this for "
                            "its own databases)")]
    return []
