"""Pool leakage (S03.cross-tenant-negatives): a pooled connection carries no tenant forward."""

from __future__ import annotations

import pytest

from harness.isolation import pool_leak_probes, require_passed
from scenarios.tenant_isolation.reporting import attach_probes


@pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S2")
def test_a_pooled_connection_forgets_its_tenant(module_database, isolation_catalog, seeded_tenants):
    """After a tenant-bound unit of work ends (committed, rolled back, or returned to the pool
    mid-transaction), the next checkout of the same pooled connection has no tenant bound and sees
    no tenant rows. Feeds S03.cross-tenant-negatives."""
    probes = pool_leak_probes(module_database, isolation_catalog, seeded_tenants["A"].principal)
    attach_probes("pool checkouts after a bound transaction", probes)
    require_passed(probes, "a pooled connection carried a tenant into the next checkout")
