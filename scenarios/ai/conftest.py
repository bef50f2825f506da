"""Fixtures of the AI data suites (S05 ingestion, S06 agent runs, S07 retrieval): one database per
module, the target's adapter on it, two workspaces (A and B), and the data files they read.

The app role is verified first: the adapter acts as it, and a check run as a role that bypasses
RLS would prove nothing.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import psycopg
import pytest

from harness import data as harness_data
from harness.errors import UnsafeAppRole
from harness.lifecycle import Database
from harness.roles import require_safe_app_role

FIXTURES = harness_data.path("")


@pytest.fixture(scope="module")
def module_adapter(module_adapter, module_database: Database):
    """The plugin's adapter on the module's database, once the app role is known to be safe."""
    spec = module_database.spec
    with module_database.connect_owner(autocommit=True) as conn:
        try:
            require_safe_app_role(conn, spec.app_role, spec.tenancy.schemas)
        except UnsafeAppRole as exc:
            pytest.fail(str(exc), pytrace=False)
    return module_adapter


@pytest.fixture(scope="module")
def workspaces(module_adapter) -> tuple[UUID, UUID]:
    """Workspaces A and B, created the target's own way."""
    if module_adapter is None:
        pytest.skip("the target names no adapter: the AI data checks cannot run")
    owner = module_adapter.create_user(f"ai-owner-{uuid4().hex[:8]}@example.test")
    return (module_adapter.create_workspace("workspace A", owner),
            module_adapter.create_workspace("workspace B", owner))


@pytest.fixture(scope="module")
def seed_conn(module_database: Database):
    """The owner role on the module's database, autocommit: catalog reads and seeding only."""
    with module_database.connect_owner(autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def app_session(module_database: Database) -> psycopg.Connection:
    with module_database.connect_app() as conn:
        yield conn
