"""KNOWN-BAD VARIANT: a revision that does not say how it is rolled back

Revision ID: r06_no_rollback_note
Revises: (the reference head)
Create Date: 2026-11-22

Documents the audit table. Its header has no paragraph on undoing it, what that loses, or what
to do first. Expected: S01.migration-dry-run NO-GO (history: no rollback note).
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "r06_no_rollback_note"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("COMMENT ON TABLE audit_log IS 'append-only trail of membership changes'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE audit_log IS NULL")
