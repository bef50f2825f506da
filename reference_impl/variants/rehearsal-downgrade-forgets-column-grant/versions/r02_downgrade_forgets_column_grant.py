"""KNOWN-BAD VARIANT: the downgrade forgets the column GRANT the upgrade gave

Revision ID: r02_forgets_column_grant
Revises: (the reference head)
Create Date: 2026-12-04

The upgrade lets the app role change one column of memberships (a column-level GRANT, kept in
pg_attribute.attacl, not in the table's ACL) and documents the table; the downgrade removes the
comment and leaves the grant behind. Expected: S04.migration-rollback-rehearsal NO-GO.

Rollback: downgrade() should revoke UPDATE (role) and drop the comment; it drops only the
comment.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "r02_forgets_column_grant"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"GRANT UPDATE (role) ON memberships TO {app_role()}")
    op.execute("COMMENT ON TABLE memberships IS 'who belongs to which workspace, with which role'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE memberships IS NULL")
