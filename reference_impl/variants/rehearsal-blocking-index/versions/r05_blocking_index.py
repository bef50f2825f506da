"""KNOWN-BAD VARIANT: CREATE INDEX without CONCURRENTLY on a large table

Revision ID: r05_blocking_index
Revises: (the reference head)
Create Date: 2026-11-22

A containment index on the audit details, built in the migration's transaction: the SHARE lock
blocks every insert into audit_log until the build commits, seconds at volume. Expected:
S04.migration-lock-safety NO-GO (squawk's require-concurrent-index-creation, and the live-load
rehearsal's stall over the lock budget).

Rollback: downgrade() drops audit_log_details_idx.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "r05_blocking_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX audit_log_details_idx ON audit_log USING gin (details)")


def downgrade() -> None:
    op.execute("DROP INDEX audit_log_details_idx")
