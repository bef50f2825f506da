"""KNOWN-BAD VARIANT: users UPDATE and DELETE policies that reuse the co-member read rule

Revision ID: vs6_users_co_member_writes
Revises: the reference head
Create Date: 2026-12-04

Every person still sees only themselves and their active co-members (the SELECT probes pass),
but anyone who may *see* a person may also change or delete them.

Expected: S02.identity-tables-rls NO-GO (bob, a member of A, updates ada's row and reaches it
with a DELETE).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "vs6_users_co_member_writes"
down_revision = HEAD
branch_labels = None
depends_on = None

ACTOR = "nullif(current_setting('app.actor_id', true), '')::uuid"
TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"
CO_MEMBER = f"""(EXISTS (SELECT 1 FROM memberships me
                          WHERE me.workspace_id = {TENANT} AND me.user_id = {ACTOR}
                            AND me.status = 'active')
                  AND EXISTS (SELECT 1 FROM memberships them
                              WHERE them.workspace_id = {TENANT} AND them.user_id = users.user_id
                                AND them.status = 'active'))"""


def upgrade() -> None:
    op.execute(f"CREATE POLICY users_update_co_member ON users FOR UPDATE USING {CO_MEMBER}")
    op.execute(f"CREATE POLICY users_delete_co_member ON users FOR DELETE USING {CO_MEMBER}")
    op.execute(f"GRANT DELETE ON users TO {app_role()}")


def downgrade() -> None:
    op.execute(f"REVOKE DELETE ON users FROM {app_role()}")
    op.execute("DROP POLICY users_delete_co_member ON users")
    op.execute("DROP POLICY users_update_co_member ON users")
