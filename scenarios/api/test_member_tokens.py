"""S02.unauthorized-access-negatives: a live token dies with the membership it was issued under."""

from __future__ import annotations

import pytest

from harness.api.members import check_departed_member_token
from harness.capabilities import require

ITEM, STORY = "S02.unauthorized-access-negatives", "F2-E1-S1"


@pytest.mark.evidence(ITEM, story=STORY)
def test_a_removed_members_live_token_is_refused(api_client, api_target, tenant_a, module_adapter,
                                                 module_database):
    """A member with a working token is removed from the workspace: the same token then reads,
    lists and writes nothing (401, 403 or 404) and the workspace's rows are unchanged."""
    members = require(module_adapter, "memberships", module_database.spec)
    check_departed_member_token(api_client, tenant_a, api_target, members,
                                lambda ws, actor, user, corr: members.remove_member(ws, actor, user, corr),
                                "removed")


@pytest.mark.evidence(ITEM, story=STORY)
def test_a_suspended_members_live_token_is_refused(api_client, api_target, tenant_a, module_adapter,
                                                   module_database):
    """A member with a working token is suspended (still a member): the same token then reads,
    lists and writes nothing (401, 403 or 404) and the workspace's rows are unchanged."""
    members = require(module_adapter, "memberships", module_database.spec)
    suspension = require(module_adapter, "membership-suspension", module_database.spec)
    check_departed_member_token(api_client, tenant_a, api_target, members,
                                lambda ws, actor, user, corr: suspension.set_status(ws, actor, user,
                                                                                    "suspended", corr),
                                "suspended")
