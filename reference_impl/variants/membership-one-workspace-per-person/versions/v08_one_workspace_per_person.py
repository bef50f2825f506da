"""KNOWN-BAD VARIANT: a person may belong to one workspace only

Revision ID: v08_one_workspace_per_person
Revises: the reference head
Create Date: 2026-12-04

memberships' primary key loses its workspace column: (user_id) instead of (workspace_id,
user_id). Each workspace still sees only its own members and every role rule holds, but a person
who is a member somewhere cannot be added to, or create, a second workspace (23505). Expected:
S03.role-matrix NO-GO (a person belongs to several workspaces at once).

Rollback: downgrade() restores the reference key.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v08_one_workspace_per_person"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE memberships DROP CONSTRAINT memberships_pkey")
    op.execute("ALTER TABLE memberships ADD PRIMARY KEY (user_id)")


def downgrade() -> None:
    op.execute("ALTER TABLE memberships DROP CONSTRAINT memberships_pkey")
    op.execute("ALTER TABLE memberships ADD PRIMARY KEY (workspace_id, user_id)")
