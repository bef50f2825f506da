"""Tenant isolation checks: plain functions a test suite (or anyone) can call.

``catalog`` discovers tenant tables from the database; ``posture`` judges coverage and the RLS
posture of each; ``bypass`` hunts the ways RLS is skipped; ``rows`` builds valid rows from the
catalog; ``matrix`` runs the cross-tenant matrix; ``visibility`` checks many tenants at once;
``pool`` checks that a pooled connection forgets its tenant; ``membership`` runs the role matrix
(generated from the spec's role model) through the target adapter. Every check binds through
:mod:`harness.tenancy` with a principal, as the spec's ``binding`` says. Every failure is an :class:`IsolationFailure` whose ``context``
carries the table, the command, the tenant bound, the SQL and the rows that leaked.
"""

from harness.isolation.bypass import bypass_findings
from harness.isolation.catalog import Catalog, Table, read_catalog
from harness.isolation.failures import Finding, IsolationFailure, advice, require_no_findings
from harness.isolation.matrix import Probe, SeededTenant, TenantMatrix, require_passed, seed_tenants
from harness.isolation.membership import (
    ROLE_CASES,
    MembershipAudit,
    Memberships,
    RoleCase,
    Suspension,
    access_loss_outcomes,
    role_cases,
    run_role_case,
)
from harness.isolation.pool import pool_leak_probes
from harness.isolation.posture import (
    Coverage,
    binding_problem,
    coverage,
    coverage_findings,
    judge_expression,
    posture_findings,
)
from harness.isolation.principals import TenantSets
from harness.isolation.rows import RowFactory, SeededRow, overrides_from, tenant_creator
from harness.isolation.visibility import exact_visibility

__all__ = [
    "ROLE_CASES", "Catalog", "Coverage", "Finding", "IsolationFailure", "MembershipAudit", "Memberships",
    "Probe", "RoleCase", "RowFactory", "SeededRow", "SeededTenant", "Suspension", "Table", "TenantMatrix",
    "TenantSets",
    "access_loss_outcomes", "advice", "binding_problem", "bypass_findings", "coverage",
    "coverage_findings", "exact_visibility", "judge_expression", "overrides_from", "pool_leak_probes",
    "posture_findings", "read_catalog", "require_no_findings", "require_passed", "role_cases",
    "run_role_case", "seed_tenants", "tenant_creator",
]
