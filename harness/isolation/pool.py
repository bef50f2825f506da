"""Pool leakage: a pooled connection must not carry a tenant into the next checkout.

Applications reuse connections through a pool. If a tenant binding outlived its transaction (a
session-level ``set_config``, ``SET`` instead of ``SET LOCAL``, a role or database default), the
next request on that connection would run as the previous tenant. :func:`pool_leak_probes` uses
a real ``psycopg_pool.ConnectionPool`` of exactly one app-role connection, so every checkout is
the same server session, and after each way a tenant-bound unit of work can end (committed,
rolled back by an error, returned to the pool mid-transaction) checks that the next checkout has
no tenant bound (no setting of the binding, and the login role again when the binding sets a
role) and sees no tenant row. The pool is left at its defaults (no reset callback), as an
application would most likely leave it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from harness.core.catalog import Catalog
from harness.isolation.matrix import Probe
from harness.lifecycle import Database
from harness.target import BindingSpec
from harness.tenancy import Principal, bind, bound

__all__ = ["Binder", "pool_leak_probes"]

# how the target binds a principal: (conn, binding, principal) -> a transaction acting for it
Binder = Callable[[psycopg.Connection, BindingSpec, Principal], AbstractContextManager]


class _Abort(Exception):
    pass


def pool_leak_probes(db: Database, catalog: Catalog, tenant: object | Principal,
                     binder: Binder = bound) -> list[Probe]:
    """Probes for each way a bound unit of work ends; ``binder`` is how the target binds a tenant."""
    binding = db.spec.binding
    principal = tenant if isinstance(tenant, Principal) else Principal(tenant)
    probes: list[Probe] = []
    with _app_pool(db) as pool:
        with pool.connection() as conn:
            first_pid = conn.info.backend_pid
            login_role = conn.execute("select current_user").fetchone()[0]
            conn.rollback()
        for ending in ("committed", "rolled back by an error", "returned mid-transaction"):
            with pool.connection() as conn:
                _unit_of_work(conn, ending, binder, binding, principal)
            with pool.connection() as conn:
                probes += _next_checkout(conn, catalog, binding, ending, first_pid, login_role)
    return probes


def _unit_of_work(conn: psycopg.Connection, ending: str, binder: Binder, binding: BindingSpec,
                  principal: Principal) -> None:
    if ending == "committed":
        with binder(conn, binding, principal):
            conn.execute("select 1")
    elif ending == "rolled back by an error":
        try:
            with binder(conn, binding, principal):
                raise _Abort
        except _Abort:
            pass
    else:
        # an application that forgot to commit: the pool rolls the connection back on return
        bind(conn, binding, principal)


def _next_checkout(conn: psycopg.Connection, catalog: Catalog, binding: BindingSpec, ending: str,
                   first_pid: int, login_role: str) -> list[Probe]:
    label = f"none expected (previous checkout bound a tenant, then was {ending})"
    probes = [Probe("(connection)", "CHECKOUT", f"pool-reuse [{ending}]", label, "pg_backend_pid()",
                    "the same server session as before", f"backend pid {conn.info.backend_pid}, "
                    f"first checkout {first_pid}", conn.info.backend_pid == first_pid)]
    with conn.transaction(force_rollback=True):
        query = "select current_setting(%s, true)"
        for setting in binding.settings:
            value = conn.execute(query, (setting,)).fetchone()[0]
            case = f"pool-setting [{ending}]" if len(binding.settings) == 1 else \
                f"pool-setting {setting} [{ending}]"
            probes.append(Probe("(connection)", "SHOW", case, label,
                                query.replace("%s", repr(setting)), "NULL or ''", repr(value), not value))
        if binding.role is not None:
            user = conn.execute("select current_user").fetchone()[0]
            probes.append(Probe("(connection)", "SHOW", f"pool-role [{ending}]", label,
                                "select current_user", f"{login_role} (the login role again)",
                                user, user == login_role))
        for table in catalog.tenant_tables:
            if "SELECT" not in table.app_privileges:
                continue
            count = sql.SQL("select count(*) from {}").format(table.ident)
            try:
                with conn.transaction():
                    seen = conn.execute(count).fetchone()[0]
                observed = f"{seen} row(s)"
            except psycopg.Error as err:  # refusing to read is as closed as reading nothing
                seen, observed = 0, f"error {err.sqlstate}: {str(err).splitlines()[0]}"
            probes.append(Probe(table.qualified, "SELECT", f"pool-rows [{ending}]", label,
                                count.as_string(conn), "0 rows (or an error)", observed, seen == 0))
    return probes


def _app_pool(db: Database) -> ConnectionPool:
    kwargs: dict[str, Any] = {"min_size": 1, "max_size": 1, "open": True, "name": "harness-isolation",
                              "timeout": 10}
    if not db.app_via_set_role:
        return ConnectionPool(db.app.conninfo(), **kwargs)
    role = db.spec.app_role

    def become_app_role(conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        conn.commit()

    return ConnectionPool(db.owner.conninfo(), configure=become_app_role, **kwargs)
