"""S01.migration-dry-run: the chain applies from empty to one head, as CI's dry run does.

Every schema change is judged where it lands: the history is linear with rollback notes, each
revision applies in order from an empty database, every table a revision creates is tenant
scoped at that revision, and the models agree with the schema the chain produces.
"""

from __future__ import annotations

import pytest

from harness.evidence import attach_json
from harness.rehearsal import (
    history_findings,
    model_differences,
    one_way_doors,
    require_no_findings,
)
from harness.rehearsal.failures import Finding


@pytest.mark.evidence("S01.migration-dry-run", story="F1-E2-S1")
def test_history_has_one_head_and_every_revision_says_how_it_rolls_back(migration_tool):
    """Exactly one head, no branches; every revision has a rollback note and a real down step,
    or declares itself a one-way door with its recovery."""
    doors = [{"revision": r.id, "note": r.note.strip()[:400]} for r in one_way_doors(migration_tool)]
    attach_json(doors, "one-way doors")
    require_no_findings(history_findings(migration_tool), "migration history")


@pytest.mark.evidence("S01.migration-dry-run", story="F1-E2-S1")
def test_the_chain_applies_from_an_empty_database_to_head(chain_walk, migration_tool):
    """Upgrading one revision at a time from an empty database reaches every revision."""
    walk, _ = chain_walk
    attach_json(walk.timings(), "walk timings per revision")
    require_no_findings(walk.forward, "dry run from an empty database")
    expected = [r.id for r in migration_tool.revisions()]
    if walk.applied != expected:
        require_no_findings([Finding("chain", "dry-run", f"applied {walk.applied}, expected "
                                     f"{expected}")], "dry run from an empty database")


@pytest.mark.evidence("S01.migration-dry-run", story="F1-E2-S1")
def test_every_new_table_is_tenant_scoped_at_the_revision_that_adds_it(chain_walk):
    """A table a revision creates is either a tenant table with forced RLS and bound policies
    for each command the app role may run, or declared global, at that very revision."""
    walk, _ = chain_walk
    attach_json({s.revision.id: list(s.new_tables) for s in walk.steps}, "tables per revision")
    require_no_findings(walk.posture, "tenant scoping of new tables")


@pytest.mark.evidence("S01.migration-dry-run", story="F1-E2-S1")
def test_models_match_the_migrated_schema(harness_run, harness_target):
    """The models named by the spec (migrations.metadata) compare clean against the schema the
    chain produces: no modelled table or column missing, no type or nullability drift."""
    if harness_target.migrations.metadata is None:
        reason = harness_target.unsupported.get("models-match")
        if reason is not None:
            pytest.skip(f"not applicable: target {harness_target.name} has no models ({reason})")
        require_no_findings([Finding("models", "metadata", "the target spec names no models",
                                     f"fix: set migrations.metadata: package.module:metadata in "
                                     f"{harness_target.path.name}, or declare unsupported: "
                                     "{models-match: <reason>}")], "models match")
    metadata = harness_target.migrations.load_metadata(harness_target.path)
    with harness_run.fresh_database("models") as db:
        findings, listed = model_differences(db.owner, metadata)
    attach_json(listed, "differences listed, not judged")
    require_no_findings(findings, "models match the migrated schema")
