"""Fixtures of the entitlement counter suite: one database, adapter and workspace per module.

Races need data committed across connections, so a module shares one clone; every race grants
its own feature, so runs never share a counter. The adapter is asked for the ``entitlements``
capability first: a target that declares it unsupported skips (not applicable), one that lacks
it without declaring it is an error naming the declaration.
"""

from __future__ import annotations

import uuid

import pytest

from harness import data as harness_data
from harness.capabilities import require
from harness.counters import CAPABILITY, EntitlementCapability
from harness.counters.profile import CounterProfile, load_profile
from harness.errors import ConfigError
from harness.lifecycle import Database

FIXTURES = harness_data.path("counters")


@pytest.fixture(scope="session")
def counter_profile() -> CounterProfile:
    try:
        return load_profile(FIXTURES / "profiles.yaml")
    except ConfigError as exc:   # a configuration error stops the run (exit 2), never a test error
        pytest.exit(f"harness: error: {exc}", returncode=2)


@pytest.fixture(scope="module")
def counters(module_adapter, module_database: Database) -> EntitlementCapability:
    return require(module_adapter, CAPABILITY, module_database.spec)


@pytest.fixture(scope="module")
def counter_workspace(counters: EntitlementCapability) -> uuid.UUID:
    owner = counters.create_user(f"counters-{uuid.uuid4().hex[:8]}@example.test")
    return counters.create_workspace("entitlement counters", owner)


def feature_name(*parts: object) -> str:
    """A feature of its own for one run: runs never share a counter."""
    return "-".join(str(p).replace(" ", "_") for p in parts) + f"-{uuid.uuid4().hex[:6]}"
