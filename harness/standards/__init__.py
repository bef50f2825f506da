"""Schema standards, security posture and data integrity: the catalog conventions a release lead
relies on (after Supabase's splinter lints, for plain PostgreSQL) and the behaviour behind them.

- :mod:`.lints`: tenant column convention, foreign-key and tenant access-path indexes, duplicate
  indexes, UNLOGGED tables, policies on tables without RLS - each finding names the object and
  gives the DDL that fixes it;
- :mod:`.hardening`: who may create objects, pinned ``search_path`` on SECURITY DEFINER
  functions, extension allowlist, default privileges, plus a behaviour probe;
- :mod:`.identity`: global identity tables visible only to the person and their co-members;
  :mod:`.identity_paths`: nobody else's row changed by UPDATE or DELETE, none shown by a view;
- :mod:`.hot_paths`: the declared hot queries planned through an ordered tenant-leading index;
- :mod:`.seeds`: seed and fixture data loaded through the app role, every constraint checked, and
  the spec's business invariants (a workspace keeps an active owner) judged on the loaded rows;
- :mod:`.preflight`: a misconfigured data environment fails early, naming the setting;
- :mod:`.analytics`: analytics events against their taxonomy, once per key, in their workspace.
"""

from harness.families import Family, Variant
from harness.standards.analytics import AnalyticsCapability
from harness.standards.failures import StandardsFailure, require_clean

__all__ = ["FAMILY", "StandardsFailure", "require_clean"]

# the family: schema standards and security posture; the seeds come from the spec (seed-data)
FAMILY = Family(
    name="standards", package="harness.standards",
    items=("S00.tenant-column-convention", "S00.index-baseline", "S01.seed-data-validation",
           "S01.misconfigured-env-diagnostics", "S02.identity-tables-rls",
           "S10.security-hardening", "S10.analytics-event-integrity"),
    failure=StandardsFailure,
    capabilities={"analytics": AnalyticsCapability, "seed-data": None},
    variant_prefix="standards-",
    variants={
        "standards-missing-fk-index": Variant(frozenset({"S00.index-baseline"})),
        "standards-definer-search-path": Variant(frozenset({"S10.security-hardening"})),
        "standards-users-visible-to-all": Variant(frozenset({"S02.identity-tables-rls"})),
        "standards-bad-seed": Variant(frozenset({"S01.seed-data-validation"})),
        "standards-analytics-unvalidated": Variant(frozenset({"S10.analytics-event-integrity"})),
        # each caught by the new check only: the older test of the same item must still pass
        "standards-users-updatable-by-co-members": Variant(
            frozenset({"S02.identity-tables-rls"}), gates=("S02",),
            tests={"no_one_changes_another_person": "failed", "sees_only_themselves": "passed"}),
        "standards-users-view-leak": Variant(
            frozenset({"S02.identity-tables-rls"}), gates=("S02",),
            tests={"no_one_changes_another_person": "failed", "sees_only_themselves": "passed"}),
        "standards-seed-workspace-without-owner": Variant(
            frozenset({"S01.seed-data-validation"}), gates=("S01",),
            tests={"keeps_the_business_invariants": "failed", "satisfies_every_constraint": "passed"}),
        "standards-analytics-occurred-at-overwritten": Variant(
            frozenset({"S10.analytics-event-integrity"}), gates=("S10",),
            tests={"stored_once_in_their_workspace": "failed", "concurrent_sends": "passed"}),
        "standards-hot-query-hash-index": Variant(frozenset({"S00.index-baseline"}), gates=("S00",)),
        # the tenant isolation suite's variant; its spec declares no standards, so only this test runs
        "table-without-workspace-id": Variant(frozenset({"S00.tenant-column-convention"}), frozenset(),
                                              select="tenant_column"),
    },
)
