"""KNOWN-BAD VARIANT: memberships keeps RLS enabled but no longer FORCED

Revision ID: v01_rls_not_forced
Revises: 0003
Create Date: 2026-11-22

Without FORCE, the table owner (and anything running as it, such as a SECURITY DEFINER
function) skips every policy. Expected: S03.policy-coverage NO-GO (posture: rls-forced).

Rollback: downgrade() forces RLS again.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v01_rls_not_forced"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.execute("ALTER TABLE memberships FORCE ROW LEVEL SECURITY")
