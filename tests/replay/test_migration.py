"""Revision 0008_events: every table tenant-scoped with forced RLS, and a real round trip."""

from __future__ import annotations

import pytest

from harness.migrations import tool_for

pytestmark = pytest.mark.slow

TABLES = {"events", "inbox", "event_effects", "dead_letters", "automation_runs", "escalations",
          "connector_credentials", "inbound_webhooks", "outbound_deliveries", "delivery_attempts",
          "subscription_mirror"}


def _replay_tables(conn) -> dict[str, tuple[bool, bool]]:
    rows = conn.execute("select relname, relrowsecurity, relforcerowsecurity from pg_class "
                        "where relkind = 'r' and relname = any(%s)", (list(TABLES),)).fetchall()
    return {name: (rls, forced) for name, rls, forced in rows}


def test_the_revision_adds_tenant_tables_and_downgrade_removes_them(harness_run, harness_target):
    db = harness_run.create_empty("replay-roundtrip")
    try:
        tool = tool_for(harness_target)
        tool.upgrade(db.owner)
        with db.connect_owner(autocommit=True) as conn:
            assert _replay_tables(conn) == dict.fromkeys(TABLES, (True, True))
            tenantless = conn.execute(
                "select table_name from information_schema.columns where table_name = any(%s) "
                "and column_name = 'workspace_id' and is_nullable = 'NO'", (list(TABLES),)).fetchall()
            assert {r[0] for r in tenantless} == TABLES
        tool.downgrade(db.owner, "0003")
        with db.connect_owner(autocommit=True) as conn:
            assert _replay_tables(conn) == {}
        tool.upgrade(db.owner)
        assert tool.current(db.owner) == tuple(tool.heads())
    finally:
        harness_run.drop(db)
