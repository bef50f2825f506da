"""KNOWN-BAD VARIANT: a tenant table created UNLOGGED

Revision ID: vr1_unlogged_table
Revises: the reference head
Create Date: 2026-11-22

Expected: S10.backup-restore-rehearsal NO-GO (crash recovery empties usage_scratch: acknowledged commits lost).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.rls import secure_tenant_table
from reference_impl.schema_head import HEAD

revision = "vr1_unlogged_table"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE UNLOGGED TABLE usage_scratch (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            scratch_id bigint GENERATED ALWAYS AS IDENTITY,
            note text NOT NULL DEFAULT '',
            PRIMARY KEY (workspace_id, scratch_id)
        )""")
    secure_tenant_table("usage_scratch")


def downgrade() -> None:
    op.execute("DROP TABLE usage_scratch")
