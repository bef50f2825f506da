"""Seed and fixture data load through the app role and satisfy the schema's constraints."""

from __future__ import annotations

import pytest

from harness.capabilities import CapabilityMissing
from harness.evidence import attach_json
from harness.standards import require_clean
from harness.standards.seeds import invariant_findings, seed_findings


@pytest.mark.evidence("S01.seed-data-validation", story="F1-E2-S2")
def test_seed_data_loads_through_the_app_role_and_satisfies_every_constraint(fresh_database,
                                                                              harness_target):
    """Every seed file of the spec loads row by row as the app role, bound to its tenant, with no
    constraint violated (deferred ones checked at commit), and reads back in its tenant."""
    spec = harness_target
    if "seed-data" in spec.unsupported:
        pytest.skip(f"not applicable: {spec.unsupported['seed-data']}")
    if not spec.standards.seeds:
        raise CapabilityMissing(f"target {spec.name} declares no seed data",
                                [("fix", f"list seed files under standards.seeds in {spec.path}, "
                                         "or declare unsupported: {seed-data: <reason>}")])
    attach_json([str(p.name) for p in spec.standards.seeds], "seed files")
    require_clean(seed_findings(fresh_database.connect_app, spec), "seed data")


@pytest.mark.evidence("S01.seed-data-validation", story="F1-E2-S2")
def test_seeded_data_keeps_the_business_invariants(fresh_database, owner_conn, harness_target):
    """Once every seed file is loaded, each business invariant the spec declares
    (standards.seed_invariants: every workspace keeps an active owner, every member is a known
    person, ...) returns no row: data a constraint cannot judge, because the rule spans rows."""
    spec = harness_target
    if "seed-data" in spec.unsupported:
        pytest.skip(f"not applicable: {spec.unsupported['seed-data']}")
    if not spec.standards.seeds or not spec.standards.seed_invariants:
        raise CapabilityMissing(f"target {spec.name} declares no seed data or no seed invariant",
                                [("fix", f"list standards.seeds and standards.seed_invariants "
                                         f"(name: a query returning the rows that break it) in "
                                         f"{spec.path}, or declare unsupported: {{seed-data: <reason>}}")])
    require_clean(seed_findings(fresh_database.connect_app, spec), "seed data")
    found, judged = invariant_findings(owner_conn, spec)
    attach_json(judged, "rows breaking each seed invariant")
    require_clean(found, "seed business invariants")
