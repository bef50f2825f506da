"""workspaces (tenant root) and users (global identities)

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Workspaces are the tenants: the table is keyed by ``workspace_id`` so that it is covered by the
same row-level security as every other tenant table. Users are global identities (one person,
many workspaces) and carry no tenant; the target spec lists them as global on purpose.

Rollback: downgrade() drops users and workspaces, losing every row in both; run it only after
0002 (memberships) has been rolled back, which Alembic's ordering guarantees.
"""

from alembic import op

from reference_impl.rls import app_role, secure_tenant_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE workspaces (
            workspace_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    secure_tenant_table("workspaces")
    op.execute("""
        CREATE TABLE users (
            user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            email text NOT NULL UNIQUE CHECK (position('@' in email) > 1),
            display_name text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("REVOKE ALL ON users FROM PUBLIC")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON users TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP TABLE users")
    op.execute("DROP TABLE workspaces")
