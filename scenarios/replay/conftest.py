"""Fixtures of the replay suite: the target's capabilities, fresh workspaces, fixture data.

Every test works in workspaces of its own, so the tests of one module share a database clone
(``module_database``) and one adapter on it, which saves a clone per test. The capability
fixtures hand the adapter over typed as the family's Protocols, or skip as not applicable when
the target's spec declares the capability unsupported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.capabilities import require
from harness.replay.capability import (
    AutomationRunsCapability,
    BillingMirrorCapability,
    CredentialsCapability,
    EventsCapability,
    WebhooksCapability,
)
from harness.replay.races import terminate_backend
from harness.replay.streams import load_yaml
from scenarios.replay.data import FIXTURES


@pytest.fixture(scope="module")
def target_adapter(module_adapter):
    """The plugin's module adapter: every test of a module works on the module's database."""
    return module_adapter


@pytest.fixture
def owner_conn(module_database):
    """The owner on the module's database, autocommit: for reading what the app cannot see."""
    with module_database.connect_owner(autocommit=True) as conn:
        yield conn


@pytest.fixture
def events(target_adapter, harness_target) -> EventsCapability:
    return require(target_adapter, "events", harness_target)


@pytest.fixture
def automation(target_adapter, harness_target) -> AutomationRunsCapability:
    return require(target_adapter, "automation-runs", harness_target)


@pytest.fixture
def webhooks(target_adapter, harness_target) -> WebhooksCapability:
    return require(target_adapter, "webhooks", harness_target)


@pytest.fixture
def billing(target_adapter, harness_target) -> BillingMirrorCapability:
    return require(target_adapter, "billing-mirror", harness_target)


@pytest.fixture
def credentials(target_adapter, harness_target) -> CredentialsCapability:
    return require(target_adapter, "connector-credentials", harness_target)


@pytest.fixture
def new_workspace(target_adapter) -> Callable[[], Any]:
    """Makes a fresh workspace (and its owner) the target's own way."""
    def make() -> Any:
        tag = uuid.uuid4().hex[:10]
        owner = target_adapter.create_user(f"replay-{tag}@example.test")
        return target_adapter.create_workspace(f"replay {tag}", owner)
    return make


@pytest.fixture
def workspace(new_workspace) -> Any:
    return new_workspace()


@pytest.fixture
def kill_before_commit(module_database) -> Callable[[int], None]:
    """A ``before_commit`` hook that terminates the handler's backend from an owner connection."""
    return terminate_backend(lambda: module_database.connect_owner(autocommit=True))


@pytest.fixture(scope="session")
def consumer_stream() -> list[dict[str, Any]]:
    return load_yaml(FIXTURES / "consumer_stream.yaml", "events")


@pytest.fixture(scope="session")
def billing_stream() -> list[dict[str, Any]]:
    return load_yaml(FIXTURES / "billing_stream.yaml", "events")
