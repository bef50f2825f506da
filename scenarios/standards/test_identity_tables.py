"""Global identity tables: not enumerable across tenants."""

from __future__ import annotations

import pytest

from harness.capabilities import CapabilityMissing
from harness.evidence import attach_json
from harness.standards import require_clean
from harness.standards.identity import (
    identity_findings,
    identity_path_findings,
    seed_identity_world,
)


@pytest.mark.evidence("S02.identity-tables-rls", story="F2-E1-S1")
def test_a_person_sees_only_themselves_and_their_active_co_members(fresh_database, owner_conn,
                                                                   target_adapter, harness_target):
    """Every identity table is under forced RLS and, bound to a workspace and a person, shows
    exactly that person and the people who share an active membership with them there; nobody
    when nothing is bound."""
    spec = harness_target
    if not spec.standards.identity_tables:
        raise CapabilityMissing(f"target {spec.name} declares no identity table",
                                [("fix", "declare standards.identity_tables: {users: {key: user_id, "
                                         "actor_setting: app.actor_id}} in the spec")])
    world = seed_identity_world(target_adapter)
    require_clean(identity_findings(fresh_database.connect_app, owner_conn, spec, world),
                  "identity visibility")


@pytest.mark.evidence("S02.identity-tables-rls", story="F2-E1-S1")
def test_no_one_changes_another_person_or_sees_them_through_a_view(fresh_database, owner_conn,
                                                                   target_adapter, harness_target):
    """Bound to a workspace and a person, an UPDATE or DELETE of anyone else's identity row (a
    co-member's, another workspace's member's, anyone's with nothing bound) changes no row and is
    refused without reaching it; every view over an identity table shows only the people the
    actor may see, and an UPDATE through it changes no one else."""
    spec = harness_target
    if not spec.standards.identity_tables:
        raise CapabilityMissing(f"target {spec.name} declares no identity table",
                                [("fix", "declare standards.identity_tables: {users: {key: user_id, "
                                         "actor_setting: app.actor_id}} in the spec")])
    world = seed_identity_world(target_adapter)
    found, probed = identity_path_findings(fresh_database.connect_app, owner_conn, spec, world)
    attach_json(probed, "identity writes and views probed")
    require_clean(found, "identity writes and views")
