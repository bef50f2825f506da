"""KNOWN-BAD VARIANT: a SECURITY DEFINER function without a pinned search_path

Revision ID: vs2_definer_search_path
Revises: the reference head
Create Date: 2026-11-22

Expected: S10.security-hardening NO-GO (security-definer-search-path), the function being on the allowlist.

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vs2_definer_search_path"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION workspace_member_count(ws uuid) RETURNS bigint
        LANGUAGE sql STABLE SECURITY DEFINER
        AS $$ SELECT count(*) FROM memberships WHERE workspace_id = ws AND status = 'active' $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION workspace_member_count(uuid)")
