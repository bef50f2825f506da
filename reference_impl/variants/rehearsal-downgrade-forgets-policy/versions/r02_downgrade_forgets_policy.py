"""KNOWN-BAD VARIANT: the downgrade forgets the policy the upgrade created

Revision ID: r02_forgets_policy
Revises: (the reference head)
Create Date: 2026-11-22

The upgrade hides removed memberships from the app role with a restrictive policy and
documents the table; the downgrade removes the comment and forgets the policy, which Alembic's
autogenerate cannot see at all. Expected: S04.migration-rollback-rehearsal NO-GO.

Rollback: downgrade() should drop memberships_hide_removed and the comment; it drops only the
comment.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "r02_forgets_policy"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"CREATE POLICY memberships_hide_removed ON memberships AS RESTRICTIVE FOR SELECT "
               f"TO {app_role()} USING (status <> 'removed')")
    op.execute("COMMENT ON TABLE memberships IS 'who belongs to which workspace, with which role'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE memberships IS NULL")
