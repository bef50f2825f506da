"""Bypass hunting: the classic ways row-level security is silently skipped.

RLS can be perfect on every table and still be skipped, because PostgreSQL evaluates it only for
some roles and some code paths. This module lists each such path it finds:

- the app role (or the binding's role) is a superuser, has BYPASSRLS (itself or through a role
  it inherits), or owns a relation (see :func:`harness.roles.app_role_problems`);
- a view without ``security_invoker``: a view reads its tables as the view's *owner*, so a
  plain view over a tenant table shows every tenant's rows; a materialized view stores its
  owner's view of the data and has no RLS at all;
- a SECURITY DEFINER function that is not on ``tenancy.security_definer_allowlist`` with a
  reason: it runs as its owner, who usually skips RLS;
- a grant to PUBLIC on a tenant table: every role, present and future, gets it.
"""

from __future__ import annotations

import psycopg

from harness.core.catalog import Catalog
from harness.core.findings import Finding
from harness.roles import app_role_problems
from harness.target import TargetSpec

__all__ = ["bypass_findings", "function_findings", "public_grant_findings", "role_findings",
           "view_findings"]


def bypass_findings(conn: psycopg.Connection, catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    """Every bypass found, role first (it makes every other check moot)."""
    return [*role_findings(conn, spec), *view_findings(catalog, spec),
            *function_findings(catalog, spec), *public_grant_findings(catalog)]


def role_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    """The app role, and the binding's role (``SET LOCAL ROLE``) when there is one."""
    roles = [spec.app_role] + ([spec.binding.role] if spec.binding.role else [])
    return [Finding(f"role {role}", "app-role", problem,
                    f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS; let the migration role own every "
                    "table, view and function; revoke memberships in bypassing roles")
            for role in roles for problem in app_role_problems(conn, role, spec.tenancy.schemas)]


def view_findings(catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    found = []
    for view in catalog.views:
        if view.from_extension:
            continue
        if view.materialized:
            if view.app_can_select:
                found.append(Finding(
                    view.qualified, "materialized-view",
                    f"materialized view owned by {view.owner}: it stores its owner's view of the "
                    f"data, RLS never applies to it, and {catalog.app_role} may read it",
                    f"REVOKE SELECT ON {view.qualified} FROM {catalog.app_role}, or replace it with "
                    "a table under RLS"))
        elif not view.security_invoker:
            found.append(Finding(
                view.qualified, "view-security-invoker",
                f"view runs as its owner {view.owner}, not as the caller: RLS on the tables it "
                "reads is checked against the owner, so it can show every tenant's rows"
                + ("" if view.app_can_select else " (the app role cannot read it yet)"),
                f"ALTER VIEW {view.qualified} SET (security_invoker = true)"))
    return found


def function_findings(catalog: Catalog, spec: TargetSpec) -> list[Finding]:
    allow = spec.tenancy.security_definer_allowlist
    found = []
    for fn in catalog.security_definer_functions:
        if fn.from_extension:
            continue
        names = {fn.name, f"{fn.schema}.{fn.name}", fn.signature}
        if names & set(allow):
            continue
        found.append(Finding(
            fn.signature, "security-definer",
            f"SECURITY DEFINER function runs as its owner {fn.owner}, who skips RLS unless the "
            "tables are FORCED and the owner is not a superuser; it is not on the allowlist",
            "make it SECURITY INVOKER, or list it under tenancy.security_definer_allowlist in "
            f"{spec.path.name} with the reason it is safe"))
    return found


def public_grant_findings(catalog: Catalog) -> list[Finding]:
    return [Finding(
        table.qualified, "public-grant",
        f"PUBLIC holds {', '.join(table.public_privileges)}: every role, including ones created "
        "later, gets them",
        f"REVOKE ALL ON {table.qualified} FROM PUBLIC; grant the app role what it needs")
        for table in catalog.tenant_tables if table.public_privileges]
