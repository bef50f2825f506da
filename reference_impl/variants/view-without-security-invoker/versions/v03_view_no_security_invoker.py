"""KNOWN-BAD VARIANT: a member directory view that runs as its owner

Revision ID: v03_view_no_security_invoker
Revises: 0003
Create Date: 2026-11-22

A plain view reads its tables with the view owner's rights, and the owner (the migration role)
is not subject to the memberships policies, so the app role sees every workspace's members
through it. Expected: S03.policy-coverage NO-GO (bypass: view-security-invoker).

Rollback: downgrade() drops the view.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "v03_view_no_security_invoker"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE VIEW member_directory AS SELECT workspace_id, user_id, role FROM memberships")
    op.execute(f"GRANT SELECT ON member_directory TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP VIEW member_directory")
