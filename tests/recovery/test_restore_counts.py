"""What the restore rehearsal compares as the app role sees it (harness/recovery/restore.py): a
table the role may not read at all, by its grants (graphile-starter serves its invitations only
through functions), is "not readable" on both sides, never a permission error that breaks the
rehearsal; a readable one is counted as the bound tenant sees it."""

from __future__ import annotations

import uuid

from harness.recovery.restore import _shown, _tenant_count
from harness.tenancy import Principal


def test_a_table_the_app_role_may_not_read_is_not_readable_and_a_readable_one_is_counted(
        fresh_database, owner_conn):
    app_role = fresh_database.spec.app_role
    owner_conn.execute("create table invitations (workspace_id uuid not null, code text)")
    owner_conn.execute("create table notes (workspace_id uuid not null, body text)")
    owner_conn.execute(f'grant select on notes to "{app_role}"')
    tenant = uuid.uuid4()
    owner_conn.execute("insert into notes values (%s, 'one'), (%s, 'two')", (tenant, tenant))
    owner_conn.execute("insert into invitations values (%s, 'secret')", (tenant,))
    principal = Principal(tenant)
    spec = fresh_database.spec

    assert _tenant_count(fresh_database.app, spec.binding, "public.invitations", principal) is None
    assert _tenant_count(fresh_database.app, spec.binding, "public.notes", principal) == 2
    owner_conn.execute(f'grant select (workspace_id) on invitations to "{app_role}"')   # one column
    assert _tenant_count(fresh_database.app, spec.binding, "public.invitations", principal) == 1
    assert _shown(None) == "not readable (no SELECT grant)" and _shown(3) == "3 rows"
