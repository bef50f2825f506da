"""KNOWN-BAD VARIANT: a permissive USING (true) SELECT policy on memberships

Revision ID: v02_using_true
Revises: 0003
Create Date: 2026-11-22

The well-meant "member directory" policy. Permissive policies are OR-ed, so next to the correct
tenant policy it still shows every workspace's memberships to everyone. Expected:
S03.policy-coverage NO-GO (posture: policy:SELECT) and S03.cross-tenant-negatives NO-GO (A
reads B's memberships).

Rollback: downgrade() drops the policy.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v02_using_true"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE POLICY memberships_directory ON memberships FOR SELECT USING (true)")


def downgrade() -> None:
    op.execute("DROP POLICY memberships_directory ON memberships")
