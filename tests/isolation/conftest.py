"""Fixtures for testing the isolation modules on a real (cloned) reference database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.core import RowFactory, overrides_from, read_catalog
from harness.isolation import FAMILY, TenantMatrix, seed_tenants


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


# -- gate runs for the bite tests (tests/bite.py runs one; these run them two at a time) ---------


def attach_verdict(verdict) -> None:
    from harness.evidence import attach_json

    attach_json({"decision": verdict.decision, "items": verdict.items,
                 "failing tests": verdict.failing_tests()}, "gate S03 verdict")


@pytest.fixture(scope="module")
def gate_runs(tmp_path_factory):
    """``gate_runs({name: spec}, private)`` -> ``verdict(name)``: S03 of the tenant isolation
    family for each spec, two at a time, on one shared server (``private`` names get their own).
    A known-bad variant (``<target>/<variant>``) searches as the bite test's variants do
    (``Family.variant_env``); a clean target keeps the gate's own profile.
    Asking for one verdict starts the next run, so the second core is never idle."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.bite import run_family, shared_server

    pool = ThreadPoolExecutor(max_workers=2)
    with shared_server() as dsn:
        def runs(specs: dict, private: set):
            names, futures = list(specs), {}

            def start(name: str) -> None:
                if name not in futures:
                    out = tmp_path_factory.mktemp(name.replace("/", "-"))
                    futures[name] = pool.submit(run_family, "tenant_isolation", specs[name], ("S03",),
                                                out, dsn=None if name in private else dsn,
                                                env=FAMILY.variant_env if "/" in name else None)

            def verdict(name: str):
                start(name)
                following = names.index(name) + 1
                if following < len(names):
                    start(names[following])
                return futures[name].result()["S03"]
            return verdict
        yield runs
        pool.shutdown(wait=True, cancel_futures=True)
