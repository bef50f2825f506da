"""Security hardening (``S10.security-hardening``, not waivable).

On top of the tenant suite's bypass hunt (app role, views without ``security_invoker``,
unallowlisted SECURITY DEFINER functions, PUBLIC grants on tenant tables):

- no role but the schema's owner (and superusers) may create objects in the application
  schemas - proven by behaviour too: the app role's ``CREATE TABLE`` must fail with 42501;
- every SECURITY DEFINER function pins ``search_path`` (``SET search_path = ...``), or a caller
  can put their own ``=`` operator or table in front of the function's;
- no extension the spec does not allow (``standards.extensions``, each with a reason);
- default privileges (``ALTER DEFAULT PRIVILEGES``) grant nothing to PUBLIC.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from harness.core import read_catalog
from harness.isolation.bypass import bypass_findings
from harness.standards.failures import Finding
from harness.target import TargetSpec

__all__ = ["create_privilege_findings", "create_probe_findings", "default_privilege_findings",
           "extension_findings", "hardening_findings", "search_path_findings"]


def hardening_findings(owner: psycopg.Connection, app: psycopg.Connection,
                       spec: TargetSpec) -> list[Finding]:
    """Every hardening finding: catalog checks through ``owner``, the probe through ``app``."""
    return [*bypass_findings(owner, read_catalog(owner, spec), spec),
            *create_privilege_findings(owner, spec), *create_probe_findings(app, spec),
            *search_path_findings(owner, spec), *extension_findings(owner, spec),
            *default_privilege_findings(owner)]


def create_privilege_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    rows = conn.execute("""
        select n.nspname, coalesce(r.rolname, 'PUBLIC')
          from pg_namespace n
          cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
          left join pg_roles r on r.oid = a.grantee
         where n.nspname = any(%s) and a.privilege_type = 'CREATE'
           and a.grantee <> n.nspowner
           and (a.grantee = 0 or (not r.rolsuper and not pg_has_role(a.grantee, n.nspowner, 'MEMBER')))
         order by 1, 2""", (list(spec.tenancy.schemas),)).fetchall()
    return [Finding(f"schema {schema}", "schema-create",
                    f"{grantee} may create objects in {schema}: it could shadow the application's "
                    "tables and functions, or own objects that skip row-level security",
                    f"REVOKE CREATE ON SCHEMA {schema} FROM {grantee};") for schema, grantee in rows]


def create_probe_findings(app: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    """Behaviour: the app role tries ``CREATE TABLE`` in each schema; anything but 42501 is a finding."""
    found = []
    for schema in spec.tenancy.schemas:
        name = f"harness_probe_{uuid.uuid4().hex[:8]}"
        statement = sql.SQL("create table {}.{} (x int)").format(sql.Identifier(schema),
                                                                 sql.Identifier(name))
        try:
            with app.transaction(force_rollback=True):
                app.execute(statement)
            outcome = "succeeded"
        except psycopg.errors.InsufficientPrivilege:
            continue
        except psycopg.Error as exc:
            outcome = f"failed with {exc.sqlstate}, not 42501 insufficient_privilege"
        found.append(Finding(f"schema {schema}", "schema-create-probe",
                             f"as {spec.app_role}, CREATE TABLE {schema}.{name} {outcome} (rolled back)",
                             f"REVOKE CREATE ON SCHEMA {schema} FROM {spec.app_role}, PUBLIC;"))
    return found


def search_path_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    rows = conn.execute("""
        select p.oid::regprocedure::text
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.prosecdef and n.nspname = any(%s)
           and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c
                           where c like 'search_path=%%')
           and not exists (select 1 from pg_depend e where e.classid = 'pg_proc'::regclass
                           and e.objid = p.oid and e.deptype = 'e')
         order by 1""", (list(spec.tenancy.schemas),)).fetchall()
    return [Finding(f"function {name}", "security-definer-search-path",
                    "SECURITY DEFINER without a pinned search_path: a caller's objects earlier on "
                    "the path run with the owner's rights",
                    f"ALTER FUNCTION {name} SET search_path = pg_catalog, <its schema>;")
            for (name,) in rows]


def extension_findings(conn: psycopg.Connection, spec: TargetSpec) -> list[Finding]:
    allowed = spec.standards.extensions
    rows = conn.execute("select extname, extversion from pg_extension order by 1").fetchall()
    return [Finding(f"extension {name}", "extension-allowlist",
                    f"{name} {version} is installed but not allowed by the spec",
                    f"DROP EXTENSION {name}; or add it to standards.extensions with the reason")
            for name, version in rows if name not in allowed]


def default_privilege_findings(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute("""
        select pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '(all schemas)'),
               d.defaclobjtype, string_agg(a.privilege_type, ', ' order by a.privilege_type)
          from pg_default_acl d
          left join pg_namespace n on n.oid = d.defaclnamespace
          cross join lateral aclexplode(d.defaclacl) a
         where a.grantee = 0
         group by 1, 2, 3 order by 1, 2, 3""").fetchall()
    kinds = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
    return [Finding(f"default privileges of {role}", "default-privileges-public",
                    f"objects {role} creates in {schema} ({kinds.get(kind, kind)}) are granted "
                    f"{privileges} to PUBLIC",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {role} REVOKE ALL ON {kinds.get(kind, kind)} "
                    "FROM PUBLIC;")
            for role, schema, kind, privileges in rows]
