"""Fixtures of the tenant isolation suite: one database per module, read and seeded once.

The catalog is read and two tenants (A and B) are seeded once per module through the owner
role; each tenant is a principal made by the adapter's ``create_tenant`` when it has one, else by
the harness (the root row and ``{tenant_id}``). Every check then runs as the app role, bound as
the spec's ``binding`` says, in transactions that are rolled back, so the seeds never change
under a test. The app role is verified first: a check run as a role that bypasses RLS would
prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from harness.core import Catalog, RowFactory, overrides_from, read_catalog, tenant_creator
from harness.errors import UnsafeAppRole
from harness.isolation import SeededTenant, TenantMatrix, TenantSets, seed_tenants
from harness.lifecycle import Database
from harness.roles import require_safe_app_role


@pytest.fixture(scope="module")
def seed_conn(module_database: Database) -> Iterator[psycopg.Connection]:
    """The owner role on the module's database, autocommit: for reading the catalog and seeding."""
    with module_database.connect_owner(autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def isolation_catalog(seed_conn: psycopg.Connection, module_database: Database) -> Catalog:
    return read_catalog(seed_conn, module_database.spec)


@pytest.fixture(scope="module")
def row_factory(seed_conn, isolation_catalog, module_database, module_adapter) -> RowFactory:
    spec = module_database.spec
    return RowFactory(seed_conn, isolation_catalog, spec.binding, overrides_from(module_adapter),
                      create_tenant=tenant_creator(module_adapter), root_owner=spec.tenancy.root_owner)


@pytest.fixture(scope="module")
def safe_app_role(seed_conn: psycopg.Connection, module_database: Database) -> None:
    spec = module_database.spec
    try:
        require_safe_app_role(seed_conn, spec.app_role, spec.tenancy.schemas)
    except UnsafeAppRole as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def tenant_sets(module_database: Database, module_adapter) -> TenantSets:
    """Which tenants a principal belongs to: the spec's membership table, else the adapter."""
    return TenantSets(module_database.spec, module_adapter)


@pytest.fixture(scope="module")
def seeded_tenants(row_factory: RowFactory, safe_app_role: None, tenant_sets: TenantSets,
                   module_database: Database) -> dict[str, SeededTenant]:
    """Tenants A and B, each with rows in every tenant table (committed); where the target has a
    membership table, also C, whose tenant A joins (A in two tenants, sharing one with C)."""
    return seed_tenants(row_factory, sets=tenant_sets, membership=module_database.spec.membership)


@pytest.fixture(scope="module")
def app_session(module_database: Database, safe_app_role: None) -> Iterator[psycopg.Connection]:
    """One app-role connection for the module; every probe rolls its own transaction back."""
    with module_database.connect_app() as conn:
        yield conn


@pytest.fixture(scope="module")
def tenant_matrix(app_session, row_factory, seeded_tenants, module_database) -> TenantMatrix:
    spec = module_database.spec
    return TenantMatrix(app_session, row_factory, seeded_tenants["A"], seeded_tenants["B"],
                        spec.binding, c=seeded_tenants.get("C"), tenancy=spec.tenancy,
                        anonymous=spec.anonymous, app_role=spec.app_role)
