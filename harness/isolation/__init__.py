"""Tenant isolation checks: plain functions a test suite (or anyone) can call.

The catalog, the row factory and findings come from the core room (:mod:`harness.core`);
``posture`` judges coverage and the RLS posture of each tenant table; ``bypass`` hunts the ways
RLS is skipped; ``matrix`` runs the cross-tenant matrix; ``visibility`` checks many tenants at once;
``pool`` checks that a pooled connection forgets its tenant; ``membership`` runs the role matrix
(generated from the spec's role model) through the target adapter. Every check binds through
:mod:`harness.tenancy` with a principal, as the spec's ``binding`` says. Every failure is an :class:`IsolationFailure` whose ``context``
carries the table, the command, the tenant bound, the SQL and the rows that leaked.
"""

from harness.families import Family, Variant
from harness.isolation.bypass import bypass_findings
from harness.isolation.failures import IsolationFailure, require_no_findings
from harness.isolation.matrix import Probe, SeededTenant, TenantMatrix, require_passed, seed_tenants
from harness.isolation.membership import (
    ROLE_CASES,
    Leaving,
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
from harness.isolation.visibility import exact_visibility

__all__ = [
    "FAMILY", "ROLE_CASES", "Coverage", "IsolationFailure", "MembershipAudit", "Memberships",
    "Probe", "RoleCase", "SeededTenant", "Suspension", "TenantMatrix", "TenantSets", "access_loss_outcomes",
    "binding_problem", "bypass_findings", "coverage", "coverage_findings", "exact_visibility",
    "judge_expression", "pool_leak_probes", "posture_findings", "require_no_findings",
    "require_passed", "role_cases", "run_role_case", "seed_tenants",
]

# the family: S03 judged on the reference and on each classic RLS mistake
FAMILY = Family(
    name="tenant_isolation", package="harness.isolation",
    items=("S03.policy-coverage", "S03.cross-tenant-negatives", "S03.role-matrix",
           "S03.membership-audit"),
    failure=IsolationFailure,
    profile="fixtures/tenant_isolation/profiles.yaml",
    profile_loader="harness.isolation.profile:load_profile",
    capabilities={"memberships": Memberships, "membership-audit": MembershipAudit,
                  "membership-leave": Leaving,
                  "membership-suspension": Suspension},
    variants={
        "rls-not-forced": Variant(frozenset({"S03.policy-coverage"})),
        "using-true": Variant(frozenset({"S03.policy-coverage", "S03.cross-tenant-negatives"})),
        "view-without-security-invoker": Variant(frozenset({"S03.policy-coverage"})),
        # alters the cluster-wide app role: a server of its own
        "app-role-bypassrls": Variant(frozenset({"S03.policy-coverage", "S03.cross-tenant-negatives"}),
                                      private_server=True),
        "table-without-workspace-id": Variant(frozenset({"S03.policy-coverage"})),
        # deny-by-default is advice on the posture; the positive twin shows A cannot delete its rows
        "missing-delete-policy": Variant(frozenset({"S03.cross-tenant-negatives"})),
        "viewer-can-write": Variant(frozenset({"S03.role-matrix"})),
        # the last-owner rule without its lock: right one change at a time, not under a race
        "owner-rule-without-lock": Variant(frozenset({"S03.role-matrix"}), frozenset({"S03.membership-audit"}),
                                           select="owners_stepping or audited",
                                           tests={"owners_stepping_down_at_once": "failed"}),
        # an audit trigger that writes for a workspace being deleted: the tenant cannot be deleted
        "audit-blocks-tenant-deletion": Variant(frozenset({"S03.cross-tenant-negatives"}), frozenset(),
                                                select="updates_and_deletes",
                                                tests={"updates_and_deletes_aimed_at_another": "failed"}),
        # memberships keyed by the person alone: a member of one workspace cannot join a second
        "membership-one-workspace-per-person": Variant(frozenset({"S03.role-matrix"}), frozenset(),
                                                       select="several_workspaces",
                                                       tests={"several_workspaces_at_once": "failed"}),
        # the rule's FOR UPDATE after the audit insert's KEY SHARE: owners racing deadlock (40P01)
        "owner-rule-deadlocks": Variant(frozenset({"S03.role-matrix"}), frozenset({"S03.membership-audit"}),
                                        select="owners_stepping or audited",
                                        tests={"owners_stepping_down_at_once": "failed"}),
    },
    go_gates=("S03",),
    # a known-bad variant's run searches 5 generated examples, not 25: each variant's mistake is
    # caught by the checks named for it, and the property test must still pass where it should
    variant_env={"HARNESS_ISOLATION_PROFILE": "quick"},
)
