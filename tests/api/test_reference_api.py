"""The reference API's edges, in-process on a fresh database: limits, error shape, tokens."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from tests.bite import ROOT

pytestmark = pytest.mark.slow  # a fresh database per test

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def api(target_adapter):
    tenant = target_adapter.create_api_tenant("edges", items=1)
    with TestClient(target_adapter.asgi_app(), raise_server_exceptions=False) as client:
        yield client, tenant, target_adapter


def _count(adapter, tenant) -> int:
    return len(adapter.tenant_snapshot(tenant["workspace_id"])["work_items"])


def test_bodies_past_the_limit_and_unknown_fields_are_refused_and_write_nothing(api):
    client, tenant, adapter = api
    auth = {"Authorization": f"Bearer {tenant['token']}", "X-Correlation-Id": "edge-1"}
    big = client.post("/v1/work-items", headers={**auth, "Content-Type": "application/json"},
                      content=b'{"title": "' + b"x" * 70_000 + b'"}')
    unknown = client.post("/v1/work-items", headers=auth, json={"title": "t", "owner": "me"})
    extra_query = client.get("/v1/work-items", headers=auth, params={"offset": 5})
    assert (big.status_code, unknown.status_code, extra_query.status_code) == (413, 422, 422)
    for answer in (big, unknown, extra_query):
        assert set(answer.json()["error"]) >= {"code", "message", "correlation_id"}
        assert answer.json()["error"]["correlation_id"] == "edge-1"
    assert _count(adapter, tenant) == 1


def test_a_page_size_past_the_limit_is_refused(api):
    client, tenant, _ = api
    auth = {"Authorization": f"Bearer {tenant['token']}"}
    assert client.get("/v1/work-items", headers=auth, params={"limit": 101}).status_code == 422
    assert client.get("/v1/work-items", headers=auth, params={"limit": 100}).status_code == 200


def test_tokens_are_stored_hashed_and_a_forged_workspace_prefix_is_refused(api):
    client, tenant, adapter = api
    stored = adapter.tenant_snapshot(tenant["workspace_id"])["api_tokens"]
    assert stored and all(tenant["token"] not in str(row) for row in stored)
    other = adapter.create_api_tenant("other", items=0)
    forged = "wit_" + other["workspace_id"].hex + tenant["token"][len("wit_") + 32:]
    answer = client.get("/v1/workspaces/current", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_server_command_refuses_to_start_without_its_database():
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "reference_impl.api", "--port", "1"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "REFERENCE_API_DSN" in done.stderr


def test_the_pool_size_is_a_setting_a_server_process_reads_back(target_adapter, monkeypatch):
    """A variant sizes the pool through ``api_database()`` (carried to a server process by
    ``api_environment()``) or caps it with ``create_app(pool_max_size=...)``; a bad size is a
    one-line error naming the variable."""
    from dataclasses import replace

    from reference_impl.api.app import create_app
    from reference_impl.api.session import POOL_MAX_ENV, ApiDatabase

    two = replace(target_adapter.api_database(), min_size=1, max_size=2)
    for name, value in two.environment().items():
        monkeypatch.setenv(name, value)
    read = ApiDatabase.from_env()
    assert (read.conninfo, read.role, read.min_size, read.max_size) == (two.conninfo, two.role, 1, 2)
    capped = create_app(target_adapter.api_database(), pool_max_size=2)
    assert (capped.state.pool.database.min_size, capped.state.pool.database.max_size) == (2, 2)
    monkeypatch.setenv(POOL_MAX_ENV, "many")
    with pytest.raises(RuntimeError, match=POOL_MAX_ENV):
        ApiDatabase.from_env()
