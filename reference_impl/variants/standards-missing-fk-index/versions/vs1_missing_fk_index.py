"""KNOWN-BAD VARIANT: the index backing memberships.user_id is dropped

Revision ID: vs1_missing_fk_index
Revises: the reference head
Create Date: 2026-11-22

Expected: S00.index-baseline NO-GO (foreign key memberships -> users has no index).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vs1_missing_fk_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX memberships_user_id_idx")


def downgrade() -> None:
    op.execute("CREATE INDEX memberships_user_id_idx ON memberships (user_id)")
