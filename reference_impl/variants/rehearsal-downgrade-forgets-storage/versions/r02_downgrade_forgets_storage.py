"""KNOWN-BAD VARIANT: the downgrade forgets the storage parameters the upgrade set

Revision ID: r02_forgets_storage
Revises: (the reference head)
Create Date: 2026-12-04

The upgrade tunes memberships for frequent updates (fillfactor, an autovacuum threshold, the
TOAST table's too) and documents the table; the downgrade removes the comment and resets only
the fillfactor. Expected: S04.migration-rollback-rehearsal NO-GO.

Rollback: downgrade() should RESET every parameter it set and drop the comment; it resets the
fillfactor only.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "r02_forgets_storage"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE memberships SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, "
               "toast.autovacuum_enabled = false)")
    op.execute("COMMENT ON TABLE memberships IS 'who belongs to which workspace, with which role'")


def downgrade() -> None:
    op.execute("ALTER TABLE memberships RESET (fillfactor)")
    op.execute("COMMENT ON TABLE memberships IS NULL")
