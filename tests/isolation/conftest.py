"""Fixtures for testing the isolation modules on a real (cloned) reference database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.isolation import RowFactory, TenantMatrix, overrides_from, read_catalog, seed_tenants


@pytest.fixture
def catalog_of(owner_conn, fresh_database):
    """Reads the catalog of the fresh database now (call it again after changing the schema)."""
    return lambda spec=None: read_catalog(owner_conn, spec or fresh_database.spec)


@pytest.fixture
def matrix_of(owner_conn, app_conn, fresh_database, catalog_of):
    """Seeds A and B in the fresh database as it is now and returns their matrix."""
    def build(adapter=None):
        spec = fresh_database.spec
        factory = RowFactory(owner_conn, catalog_of(), spec.tenant_setting, overrides_from(adapter))
        tenants = seed_tenants(factory)
        return TenantMatrix(app_conn, factory, tenants["A"], tenants["B"], spec.tenant_setting)
    return build


@pytest.fixture
def spec_with(fresh_database):
    """The fresh database's spec with some fields replaced (e.g. another app role)."""
    return lambda **changes: replace(fresh_database.spec, **changes)
