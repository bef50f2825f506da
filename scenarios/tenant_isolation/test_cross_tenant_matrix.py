"""The cross-tenant matrix (S03.cross-tenant-negatives, S02.unauthorized-access-negatives).

Generated per tenant table from the catalog: bound to tenant A, nothing of tenant B can be
read, changed, deleted or created, no row can be moved to B, and with no tenant bound nothing
at all; the positive twin shows A can do its own CRUD, so the negatives are not vacuous.
"""

from __future__ import annotations

import pytest

from harness.isolation import require_passed
from harness.isolation.functions import function_probes
from scenarios.tenant_isolation.reporting import attach_probes

NEGATIVES = pytest.mark.evidence("S03.cross-tenant-negatives", story="F2-E3-S1")


@NEGATIVES
def test_a_bound_tenant_reads_exactly_its_own_rows(tenant_matrix):
    """Bound to A, SELECT on every tenant table returns every row seeded for A and no row of a
    tenant A is not a member of (where the target has memberships, A belongs to two tenants and
    C, who shares one with A, is read too). Feeds S03.cross-tenant-negatives."""
    probes = tenant_matrix.reads()
    attach_probes("reads bound to A (and C)", probes)
    require_passed(probes, "a principal read rows of a tenant it is not a member of")


@NEGATIVES
def test_updates_and_deletes_aimed_at_another_tenant_touch_nothing(tenant_matrix):
    """Bound to A, ``UPDATE ... WHERE workspace_id = B`` and ``DELETE ... WHERE workspace_id = B``
    touch 0 rows, and an UPDATE or DELETE with no WHERE touches exactly A's rows, on every tenant
    table (or is refused where the app role lacks the privilege); on the tenant root that DELETE
    takes A's whole tenant with it, members and audit trail included, and must not break on the
    way. Feeds S03.cross-tenant-negatives."""
    probes = [p for p in tenant_matrix.foreign_writes()
              if p.case in ("update-other", "delete-other", "update-unfiltered", "delete-unfiltered")]
    attach_probes("writes aimed at B", probes)
    require_passed(probes, "a tenant changed another tenant's rows")


@NEGATIVES
def test_rows_cannot_be_created_in_or_moved_to_another_tenant(tenant_matrix):
    """Bound to A, an INSERT carrying B's tenant id and an UPDATE moving A's rows to B are both
    rejected with SQLSTATE 42501 on every tenant table. Feeds S03.cross-tenant-negatives."""
    probes = [p for p in tenant_matrix.foreign_writes() if p.case in ("insert-other", "move-to-other")]
    attach_probes("inserts and moves into B", probes)
    require_passed(probes, "a tenant wrote rows into another tenant")


@NEGATIVES
@pytest.mark.evidence("S02.unauthorized-access-negatives", story="F2-E1-S1")
def test_no_tenant_bound_fails_closed(tenant_matrix, module_database):
    """As the caller with no principal (the spec's ``anonymous`` caller, e.g. PostgREST's
    ``anon``; on a fresh connection, and on one that served a tenant before), reads return
    nothing and writes change nothing on every tenant table. Feeds
    S02.unauthorized-access-negatives and S03.cross-tenant-negatives."""
    with module_database.connect_app() as fresh:
        probes = tenant_matrix.fail_closed(fresh)
    tenant_matrix.reads()  # bind and unbind the matrix's connection, then probe it unbound
    probes += tenant_matrix.fail_closed()
    attach_probes("no tenant bound", probes)
    require_passed(probes, "an unbound session reached tenant rows")


@NEGATIVES
def test_a_tenant_can_do_its_own_crud(tenant_matrix):
    """The positive twin: bound to A, INSERT, UPDATE and DELETE of A's own rows succeed on every tenant
    table, and a command the app role may not run is refused for A too (append-only tables). A
    command the spec's ``tenancy.write_paths`` says the product never runs directly on a table is
    run and shown, not demanded. Feeds S03.cross-tenant-negatives."""
    probes = tenant_matrix.own_crud()
    attach_probes("own CRUD bound to A", probes)
    require_passed(probes, "a tenant could not work on its own rows (the negatives may be vacuous)")



@NEGATIVES
def test_functions_called_for_another_tenant_hand_back_nothing_of_it(seed_conn, tenant_matrix,
                                                                    isolation_catalog, harness_target):
    """Bound to A, every function the app role may call with no argument or with one tenant id
    (B's) refuses or answers with nothing of B's rows, and leaves B's rows as they were: a
    SECURITY DEFINER function reads as its owner, and an allowlist entry is no proof. Feeds
    S03.cross-tenant-negatives."""
    probes = function_probes(seed_conn, isolation_catalog, harness_target.binding,
                             tenant_matrix.a, tenant_matrix.b, harness_target.app_role)
    attach_probes("functions called for B", probes)
    require_passed(probes, "a function handed back another tenant's rows")
