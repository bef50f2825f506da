"""KNOWN-BAD VARIANT, part 1 (sound): workspace_themes, a tenant table

Revision ID: r03a_workspace_themes
Revises: (the reference head)
Create Date: 2026-11-22

A tenant table with forced RLS and a policy per command, as every tenant table.

Rollback: downgrade() drops workspace_themes, losing its rows.
"""

from alembic import op

from reference_impl.rls import secure_tenant_table
from reference_impl.schema_head import HEAD

revision = "r03a_workspace_themes"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE workspace_themes (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            theme_id uuid NOT NULL DEFAULT gen_random_uuid(),
            theme text NOT NULL,
            PRIMARY KEY (workspace_id, theme_id)
        )""")
    secure_tenant_table("workspace_themes")


def downgrade() -> None:
    op.execute("DROP TABLE workspace_themes")
