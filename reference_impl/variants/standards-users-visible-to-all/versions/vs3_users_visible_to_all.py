"""KNOWN-BAD VARIANT: a users SELECT policy that shows every person

Revision ID: vs3_users_visible_to_all
Revises: the reference head
Create Date: 2026-11-22

Expected: S02.identity-tables-rls NO-GO (cy sees ada and bob).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vs3_users_visible_to_all"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE POLICY users_directory ON users FOR SELECT USING (true)")


def downgrade() -> None:
    op.execute("DROP POLICY users_directory ON users")
