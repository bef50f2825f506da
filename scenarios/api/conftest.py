"""Fixtures of the API suite: the target's API in-process, two seeded tenants, the armed checks.

Each module gets its own database clone (``module_database``), the target's ``api`` capability
(``require``: not applicable when the spec declares it unsupported, an error naming the
missing declaration when the adapter lacks it), the API as an ASGI app under Starlette's test client (its pool is closed with the
client, before the database is dropped), and tenants A and B, each a workspace with an owner,
three work items and a live token. Scenarios act as A; B is what must stay out of reach.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():
    # Starlette nudges towards httpx2, which is not a dependency here; httpx works as documented
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from harness.api import CAPABILITY, ApiTarget, ApiTenant
from harness.api.checks import TenantFence, armed, bad_credentials
from harness.api.invariants import held_rows
from harness.blame import note_response
from harness.capabilities import require
from harness.lifecycle import Database


@pytest.fixture(scope="module")
def api_target(module_adapter, module_database: Database) -> ApiTarget:
    return require(module_adapter, CAPABILITY, module_database.spec)


@pytest.fixture(scope="module")
def api_app(api_target: ApiTarget):
    return api_target.asgi_app()


@pytest.fixture(scope="module")
def api_client(api_app) -> Iterator[TestClient]:
    """In-process HTTP to the app; leaving it runs the app's shutdown (its pool closes). Every
    5xx it answers is noted, so a check that breaks on one blames the target (harness.blame)."""
    with TestClient(api_app, raise_server_exceptions=False) as client:
        client.event_hooks["response"].append(note_response)
        yield client


@pytest.fixture(scope="module")
def row_hold(api_target: ApiTarget, module_database: Database):
    """For the race checks: the target holds a contended item's row, the harness counts the
    writers queued behind it on an owner connection of its own."""
    return held_rows(api_target, lambda: module_database.connect_owner(autocommit=True))


@pytest.fixture(scope="module")
def tenant_a(api_target: ApiTarget, api_client: TestClient) -> ApiTenant:
    return ApiTenant.from_mapping(api_target.create_api_tenant("tenant-a"))


@pytest.fixture(scope="module")
def tenant_b(api_target: ApiTarget, api_client: TestClient) -> ApiTenant:
    return ApiTenant.from_mapping(api_target.create_api_tenant("tenant-b"))


@pytest.fixture(scope="module")
def tenant_fence(api_target: ApiTarget, api_client: TestClient, tenant_a: ApiTenant,
                 tenant_b: ApiTenant) -> Iterator[TenantFence]:
    """Arms the suite's schemathesis checks: A acts, B must stay invisible, bad tokens of A."""
    expired = api_target.issue_token(tenant_a.workspace_id, tenant_a.user_id, -60.0)
    revoked = api_target.issue_token(tenant_a.workspace_id, tenant_a.user_id, 3600.0)
    api_target.revoke_token(tenant_a.workspace_id, revoked)
    malformed = tenant_a.token[:-12]  # the right shape's prefix, cut short
    fence = TenantFence(acting=tenant_a, foreign=tenant_b, client=api_client,
                        snapshot=lambda: api_target.tenant_snapshot(tenant_a.workspace_id),
                        bad_tokens=bad_credentials(malformed, expired, revoked))
    with armed(fence):
        yield fence
