"""Coverage, posture and bypass hunting: each classic mistake, made in a clone, is found."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from psycopg import sql

from harness.isolation import (
    IsolationFailure,
    bypass_findings,
    coverage,
    coverage_findings,
    posture_findings,
    require_no_findings,
)

pytestmark = pytest.mark.slow


def _posture(catalog, spec):
    return [(f.subject, f.check) for t in catalog.tenant_tables for f in posture_findings(t, catalog, spec)]


def test_the_reference_is_clean(owner_conn, catalog_of, fresh_database):
    spec, catalog = fresh_database.spec, catalog_of()
    assert coverage_findings(coverage(catalog, spec), spec) == []
    assert _posture(catalog, spec) == []
    assert bypass_findings(owner_conn, catalog, spec) == []


@pytest.mark.parametrize(("ddl", "expected"), [
    ("ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY", [("public.memberships", "rls-forced")]),
    ("ALTER TABLE workspaces DISABLE ROW LEVEL SECURITY", [("public.workspaces", "rls-enabled")]),
    ("CREATE POLICY directory ON memberships FOR SELECT USING (true)", [("public.memberships", "policy:SELECT")]),
    ("CREATE POLICY anything ON audit_log USING (true)",  # FOR ALL, but only SELECT/INSERT are granted
     [("public.audit_log", "policy:SELECT"), ("public.audit_log", "policy:INSERT")]),
    ("CREATE POLICY sneaky ON memberships FOR UPDATE USING "
     "(workspace_id = current_setting('app.workspace_id', true)::uuid) WITH CHECK (true)",
     [("public.memberships", "policy:UPDATE")]),
    ("DROP POLICY memberships_delete_own_workspace ON memberships", [("public.memberships", "policy:DELETE")]),
    # restrictive policies only narrow; a policy for another role does not apply to the app role
    ("CREATE POLICY narrow ON memberships AS RESTRICTIVE FOR SELECT USING (true)", []),
    ("CREATE POLICY for_auditors ON memberships FOR SELECT TO pg_read_all_data USING (true)", []),
    # a command the app role cannot run needs no policy
    ("DROP POLICY memberships_delete_own_workspace ON memberships; REVOKE DELETE ON memberships FROM app_user", []),
    ("CREATE TABLE loose (workspace_id uuid, body text)",
     [("public.loose", "rls-enabled"), ("public.loose", "rls-forced"), ("public.loose", "tenant-not-null"),
      ("public.loose", "tenant-index")]),
])
def test_posture_findings(owner_conn, catalog_of, fresh_database, ddl, expected):
    owner_conn.execute(ddl)
    assert _posture(catalog_of(), fresh_database.spec) == expected


def test_an_unlisted_table_without_the_tenant_column_fails_coverage(owner_conn, catalog_of, spec_with):
    owner_conn.execute("CREATE TABLE notes (note_id uuid PRIMARY KEY, body text)")
    spec = spec_with()
    cov = coverage(catalog_of(), spec)
    assert cov.uncovered == ("public.notes",)
    with pytest.raises(IsolationFailure) as err:
        require_no_findings(coverage_findings(cov, spec), "coverage")
    assert err.value.context[0][0] == "public.notes: coverage"
    assert "tenancy.global_tables" in err.value.context[0][1]
    listed = spec_with(tenancy=replace(spec.tenancy, global_tables={
        **spec.tenancy.global_tables, "notes": "release notes, the same for everyone"}))
    assert coverage_findings(coverage(catalog_of(), listed), listed) == []


@pytest.mark.parametrize(("ddl", "expected"), [
    ("CREATE VIEW directory AS SELECT workspace_id, user_id FROM memberships; "
     "GRANT SELECT ON directory TO app_user", [("public.directory", "view-security-invoker")]),
    ("CREATE VIEW directory WITH (security_invoker = true) AS SELECT workspace_id FROM memberships", []),
    ("CREATE MATERIALIZED VIEW counts AS SELECT workspace_id, count(*) FROM memberships GROUP BY 1; "
     "GRANT SELECT ON counts TO app_user", [("public.counts", "materialized-view")]),
    ("CREATE FUNCTION all_members() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
     "AS 'SELECT count(*) FROM memberships'", [("public.all_members()", "security-definer")]),
    ("GRANT SELECT ON memberships TO PUBLIC", [("public.memberships", "public-grant")]),
])
def test_bypass_findings(owner_conn, catalog_of, fresh_database, ddl, expected):
    owner_conn.execute(ddl)
    found = bypass_findings(owner_conn, catalog_of(), fresh_database.spec)
    assert [(f.subject, f.check) for f in found] == expected


def test_an_allowlisted_security_definer_function_passes(owner_conn, catalog_of, spec_with):
    owner_conn.execute("CREATE FUNCTION all_members() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
                       "AS 'SELECT count(*) FROM memberships'")
    spec = spec_with()
    spec = spec_with(tenancy=replace(spec.tenancy, security_definer_allowlist={
        "all_members": "billing metric, returns a count only"}))
    assert bypass_findings(owner_conn, catalog_of(spec), spec) == []


def test_an_app_role_with_bypassrls_is_found(owner_conn, catalog_of, spec_with):
    """Roles are cluster-wide: a throwaway role stands in for the app role."""
    role = f"harness_iso_{uuid.uuid4().hex[:8]}"
    owner_conn.execute(sql.SQL("create role {} bypassrls").format(sql.Identifier(role)))
    try:
        spec = spec_with(app_role=role)
        found = bypass_findings(owner_conn, catalog_of(spec), spec)
        assert [(f.subject, f.check) for f in found] == [(f"role {role}", "app-role")]
        assert "BYPASSRLS" in found[0].problem
    finally:
        owner_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
