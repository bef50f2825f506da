"""KNOWN-BAD VARIANT: memberships loses its DELETE policy

Revision ID: v06_missing_delete_policy
Revises: 0003
Create Date: 2026-11-22

The app role keeps its DELETE privilege but no policy covers DELETE: deletes silently touch
nothing today, and the first broad policy someone adds opens them. Expected:
S03.cross-tenant-negatives NO-GO (A cannot delete its own membership rows: the positive twin);
the posture notes policy:DELETE as deny-by-default advice (closed today, behaviour decides).

Rollback: downgrade() restores the reference policy.
"""

from alembic import op

from reference_impl.rls import TENANT
from reference_impl.schema_head import HEAD

revision = "v06_missing_delete_policy"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP POLICY memberships_delete_own_workspace ON memberships")


def downgrade() -> None:
    op.execute("CREATE POLICY memberships_delete_own_workspace ON memberships FOR DELETE "
               f"USING (workspace_id = {TENANT})")
