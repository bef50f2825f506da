"""The app role: the login every tenant scenario runs as, and the checks that it is safe.

A row-level-security check run as a superuser, a BYPASSRLS role or a table owner proves
nothing, because RLS does not apply to them (owners only escape when RLS is not FORCED, but
an owner can also turn it off). :func:`app_role_problems` lists every such reason and
:func:`require_safe_app_role` refuses to go on while there is one.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from harness.errors import UnsafeAppRole

__all__ = ["app_role_problems", "ensure_role", "require_safe_app_role", "unsafe_app_role_message"]


def ensure_role(admin: psycopg.Connection, role: str, password: str) -> bool:
    """Creates ``role`` as a plain login (no superuser, no BYPASSRLS). Returns True if created.

    A role that already exists keeps its attributes: on a shared server it is not ours to change,
    and the safety checks will say if it is unfit. Another session creating the same role at the
    same moment is not an error: PostgreSQL answers the loser with 42710 when the winner had
    committed before the CREATE began, and with 23505 on ``pg_authid_rolname_index`` when the
    CREATE had to wait for the winner's commit.
    """
    exists = admin.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    if exists:
        return False
    try:
        admin.execute(sql.SQL("create role {} login nosuperuser nobypassrls nocreatedb "
                              "nocreaterole password {}").format(sql.Identifier(role), sql.Literal(password)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):  # another session won
        return False
    return True


def app_role_problems(conn: psycopg.Connection, role: str, schemas: tuple[str, ...] = ("public",)
                      ) -> list[str]:
    """Every reason ``role`` could read or write past row-level security, as sentences."""
    row = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = %s", (role,)).fetchone()
    if row is None:
        return [f"role {role} does not exist"]
    problems = []
    if row[0]:
        problems.append(f"role {role} is a SUPERUSER: row-level security never applies to it")
    if row[1]:
        problems.append(f"role {role} has BYPASSRLS: row-level security never applies to it")
    inherited = conn.execute(
        "select r.rolname from pg_roles r where pg_has_role(%s, r.oid, 'USAGE') and r.rolname <> %s "
        "and (r.rolsuper or r.rolbypassrls)", (role, role)).fetchall()
    for (other,) in inherited:
        problems.append(f"role {role} is a member of {other}, which bypasses row-level security")
    owned = conn.execute(
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relkind in ('r', 'p', 'v', 'm') and n.nspname = any(%s) "
        "and pg_has_role(%s, c.relowner, 'USAGE') order by 1", (list(schemas), role)).fetchall()
    for (table,) in owned:
        problems.append(f"role {role} owns {table}: an owner can disable or escape its policies")
    return problems


def require_safe_app_role(conn: psycopg.Connection, role: str, schemas: tuple[str, ...] = ("public",)) -> None:
    problems = app_role_problems(conn, role, schemas)
    if problems:
        raise UnsafeAppRole(unsafe_app_role_message(role, problems))


def unsafe_app_role_message(role: str, problems: list[str]) -> str:
    return ("refusing to run tenant scenarios as an app role that bypasses RLS: " + "; ".join(problems)
            + f" (fix: connect as a plain role, e.g. ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS, "
            "and let the migration role own the tables)")
