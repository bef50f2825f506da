"""KNOWN-BAD VARIANT: the downgrade forgets the index the upgrade created

Revision ID: r01_forgets_index
Revises: (the reference head)
Create Date: 2026-11-22

The upgrade builds an index for the member directory (concurrently, outside the migration's
transaction, as it should) and documents the table; the downgrade removes the comment and
forgets the index. Alembic's autogenerate would not notice on a model-less index. Expected:
S04.migration-rollback-rehearsal NO-GO (the snapshot after the downgrade still has the index,
and upgrading again fails because the index exists).

Rollback: downgrade() should drop memberships_role_idx and the comment; it drops only the comment.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "r01_forgets_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY memberships_role_idx ON memberships (workspace_id, role)")
    op.execute("COMMENT ON TABLE memberships IS 'who belongs to which workspace, with which role'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE memberships IS NULL")
