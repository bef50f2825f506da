"""KNOWN-BAD VARIANT: a new tenant table without row-level security

Revision ID: r04_table_without_rls
Revises: (the reference head)
Create Date: 2026-11-22

workspace_notes carries workspace_id and is granted to the app role, but RLS is never enabled:
every workspace reads every note. Expected: S01.migration-dry-run NO-GO (tenant scoping of the
tables a revision creates, caught at this revision).

Rollback: downgrade() drops workspace_notes, losing its rows.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "r04_table_without_rls"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE workspace_notes (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            note_id uuid NOT NULL DEFAULT gen_random_uuid(),
            body text NOT NULL,
            PRIMARY KEY (workspace_id, note_id)
        )""")
    op.execute("REVOKE ALL ON workspace_notes FROM PUBLIC")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON workspace_notes TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP TABLE workspace_notes")
