"""KNOWN-BAD VARIANT, part 2: a rename whose downgrade recreates the column instead

Revision ID: r03b_lossy_rename
Revises: r03a_workspace_themes
Create Date: 2026-11-22

The upgrade renames theme to colour_theme. The downgrade drops colour_theme and adds theme back
with a placeholder value: the schema is restored exactly, the data is not. Expected:
S04.migration-rollback-rehearsal NO-GO (data: every theme is 'light' after up and down).

Rollback: downgrade() should rename colour_theme back to theme; it recreates it, losing the data.
"""

from alembic import op

revision = "r03b_lossy_rename"
down_revision = "r03a_workspace_themes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE workspace_themes RENAME COLUMN theme TO colour_theme")


def downgrade() -> None:
    op.execute("ALTER TABLE workspace_themes DROP COLUMN colour_theme")
    op.execute("ALTER TABLE workspace_themes ADD COLUMN theme text")
    op.execute("UPDATE workspace_themes SET theme = 'light'")
    op.execute("ALTER TABLE workspace_themes ALTER COLUMN theme SET NOT NULL")
