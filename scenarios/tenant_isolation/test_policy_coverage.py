"""Policy coverage proof (S03.policy-coverage): every table is accounted for, every tenant table
is protected the way row-level security needs, and nothing skips RLS.

These read only the catalog, so they cover a table the day its migration lands. Policy text
that only behaviour can judge (a policy through a helper function, deny-by-default) is attached
as an "advisory" note on the passing test; the cross-tenant probes decide.
"""

from __future__ import annotations

import pytest

from harness.core import advice
from harness.evidence import attach_json as attach_evidence
from harness.isolation import (
    bypass_findings,
    coverage,
    coverage_findings,
    posture_findings,
    require_no_findings,
)
from scenarios.tenant_isolation.reporting import attach_json

COVERAGE = pytest.mark.evidence("S03.policy-coverage", story="F2-E3-S1")


@COVERAGE
def test_every_table_is_a_tenant_table_or_allowlisted(isolation_catalog, harness_target):
    """Every table in the application schemas has the tenant column or is on the spec's
    ``tenancy.global_tables`` allowlist with a reason: a table nobody classified fails. Reports
    "tenant tables proven / tenant tables" (proven: a sound RLS posture). Feeds S03.policy-coverage."""
    cov = coverage(isolation_catalog, harness_target)
    proven = [t for t in isolation_catalog.tenant_tables
              if not [f for f in posture_findings(t, isolation_catalog, harness_target) if not f.advisory]]
    attach_json("coverage", {
        "summary": cov.summary(len(proven)),
        "tenant tables": list(cov.tenant_tables),
        "proven (sound posture)": [t.qualified for t in proven],
        "global tables (allowlisted)": {t: harness_target.tenancy.global_tables.get(
            t.split(".", 1)[1], harness_target.tenancy.global_tables.get(t)) for t in cov.global_tables},
        "uncovered": list(cov.uncovered),
        "allowlisted but absent": list(cov.stale_allowlist),
        "extension tables (not judged)": list(cov.extension_tables),
    })
    assert cov.tenant_tables, f"no table has the tenant column {harness_target.tenancy.column}"
    require_no_findings(coverage_findings(cov, harness_target), "tables outside tenant coverage")


@COVERAGE
def test_every_tenant_table_has_a_sound_rls_posture(isolation_catalog, harness_target):
    """Each tenant table has RLS enabled and FORCED, a NOT NULL tenant column, an index leading with
    it, and for every command the app role may run a permissive policy, where no permissive policy
    is open (OR semantics: one ``USING (true)`` opens the table; a branch reading no bound setting
    and calling no function admits rows by content alone). Policies scoped through helpers are
    advice, judged by the cross-tenant probes. Feeds S03.policy-coverage."""
    findings, posture = [], {}
    for table in isolation_catalog.tenant_tables:
        found = posture_findings(table, isolation_catalog, harness_target)
        findings += found
        posture[table.qualified] = {
            "rls enabled": table.rls_enabled, "rls forced": table.rls_forced,
            "app role may": sorted(table.app_privileges),
            "policies": {p.name: {"command": p.command, "permissive": p.permissive, "roles": p.roles,
                                  "using": p.using, "with check": p.with_check} for p in table.policies},
            "problems": [f.title() + ": " + f.problem for f in found if not f.advisory],
            "advice": [f.title() + ": " + f.problem for f in found if f.advisory],
        }
    attach_json("rls posture per tenant table", posture)
    notes = advice(findings)
    if notes:
        attach_evidence([{"subject": f.subject, "check": f.check, "note": f.problem, "catalog": f.detail}
                         for f in notes], f"advisory: {len(notes)} policy text note(s) the probes judge")
    require_no_findings(findings, "unsound RLS posture")


@COVERAGE
def test_nothing_bypasses_row_level_security(seed_conn, isolation_catalog, harness_target):
    """The app role (and the binding's role) is no superuser, has no BYPASSRLS and owns nothing;
    every view runs with
    ``security_invoker``; every SECURITY DEFINER function is allowlisted with a reason; no tenant
    table is granted to PUBLIC. Feeds S03.policy-coverage."""
    findings = bypass_findings(seed_conn, isolation_catalog, harness_target)
    attach_json("bypass hunting", {
        "app role": harness_target.app_role,
        "views": {v.qualified: {"security_invoker": v.security_invoker, "materialized": v.materialized}
                  for v in isolation_catalog.views},
        "security definer functions": [f.signature for f in isolation_catalog.security_definer_functions],
        "allowlist": harness_target.tenancy.security_definer_allowlist,
        "problems": [f.title() + ": " + f.problem for f in findings],
    })
    require_no_findings(findings, "ways around row-level security")
