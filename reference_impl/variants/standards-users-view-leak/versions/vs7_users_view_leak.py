"""KNOWN-BAD VARIANT: a people directory view over users that runs with its owner's rights

Revision ID: vs7_users_view_leak
Revises: the reference head
Create Date: 2026-12-04

The users table keeps its forced row-level security, but the view is not ``security_invoker``:
it reads users as its owner (the migration role), so the app role sees and updates every
person through it.

Expected: S02.identity-tables-rls NO-GO (cy, in B, sees ada and bob through people_directory).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "vs7_users_view_leak"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE VIEW people_directory AS SELECT user_id, email, display_name FROM users")
    op.execute(f"GRANT SELECT, UPDATE ON people_directory TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP VIEW people_directory")
