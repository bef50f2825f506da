"""Fixtures of the migration rehearsal suite: one walk and one live-load rehearsal per session.

The step-by-step walk (schema snapshots, seeded data, down and up at every revision) and the
live-load rehearsal (the chain at volume under tenant traffic) are expensive and each is judged
by several tests, one property each, so both run once per session on their own empty databases
(``harness_run.create_empty()``) and are dropped afterwards. The profile comes from
``fixtures/rehearsal/profiles.yaml`` (``HARNESS_REHEARSAL_PROFILES`` names another file,
``HARNESS_REHEARSAL_PROFILE`` picks ``ci`` or ``ga``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness import data as harness_data
from harness.core import overrides_from, read_catalog
from harness.errors import ConfigError
from harness.lifecycle import Run
from harness.migrations import MigrationTool, tool_for
from harness.rehearsal import (
    LiveRehearsal,
    RehearsalConfig,
    Walk,
    bulk_tables,
    load_config,
    rehearse_live,
    walk_chain,
)
from harness.target import TargetSpec

PROFILES = harness_data.path("rehearsal/profiles.yaml")


@pytest.fixture(scope="session")
def rehearsal_config() -> RehearsalConfig:
    try:
        return load_config(os.environ.get("HARNESS_REHEARSAL_PROFILES") or PROFILES)
    except ConfigError as exc:
        pytest.exit(f"harness: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def migration_tool(harness_target: TargetSpec) -> MigrationTool:
    return tool_for(harness_target)


def _overrides(spec: TargetSpec, db):
    return overrides_from(spec.load_adapter_class()(db) if spec.adapter else None)


@pytest.fixture(scope="session")
def chain_walk(harness_run: Run, migration_tool: MigrationTool) -> Iterator[tuple[Walk, object]]:
    """The walk from base to head (down and up at each revision) and the database it used."""
    db = harness_run.create_empty("walk")
    try:
        yield walk_chain(migration_tool, harness_run.spec, db, _overrides(harness_run.spec, db)), db
    finally:
        harness_run.drop(db)


@pytest.fixture(scope="session")
def live_rehearsal(harness_run: Run, migration_tool: MigrationTool,
                   rehearsal_config: RehearsalConfig) -> Iterator[LiveRehearsal]:
    """The chain upgraded and rolled back at the profile's volume under tenant traffic."""
    spec = harness_run.spec
    with harness_run.fresh_database("head") as head, head.connect_owner(autocommit=True) as conn:
        at_head = len(bulk_tables(read_catalog(conn, spec)))
    rows = rehearsal_config.profile.rows // max(1, at_head)
    db = harness_run.create_empty("live")
    try:
        yield rehearse_live(migration_tool, spec, db, rehearsal_config, rows, _overrides(spec, db))
    finally:
        harness_run.drop(db)
