"""KNOWN-BAD VARIANT: CREATE INDEX without CONCURRENTLY on a large table

Revision ID: r05_blocking_index
Revises: (the reference head)
Create Date: 2026-11-22

Two indexes on the audit details (a containment index and one on their text), built in the
migration's transaction: the SHARE lock taken by the first blocks every insert into audit_log
until the transaction commits after the second, seconds at volume. Expected:
S04.migration-lock-safety NO-GO (squawk's require-concurrent-index-creation, and the live-load
rehearsal's stall over the lock budget).

Rollback: downgrade() drops both indexes.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "r05_blocking_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX audit_log_details_idx ON audit_log USING gin (details)")
    op.execute("CREATE INDEX audit_log_details_text_idx ON audit_log ((details::text))")
    # at the ci volume the builds take well under a second on a fast disk; a production-sized
    # audit_log takes minutes. The lock is held until commit either way: the sleep stands in for
    # that build time so the live-load rehearsal sees the stall on any machine.
    op.execute("SELECT pg_sleep(3)")


def downgrade() -> None:
    op.execute("DROP INDEX audit_log_details_text_idx")
    op.execute("DROP INDEX audit_log_details_idx")
