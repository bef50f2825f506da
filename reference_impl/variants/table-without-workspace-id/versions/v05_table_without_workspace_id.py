"""KNOWN-BAD VARIANT: a new table without workspace_id, granted to the app role

Revision ID: v05_table_without_workspace_id
Revises: 0003
Create Date: 2026-11-22

The table added next sprint by someone who did not think about tenants: no tenant column, no
RLS, and not on the global allowlist. Expected: S03.policy-coverage NO-GO (coverage).

Rollback: downgrade() drops notes and its rows.
"""

from alembic import op

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "v05_table_without_workspace_id"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE notes (
            note_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("REVOKE ALL ON notes FROM PUBLIC")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP TABLE notes")
