"""memberships: who belongs to which workspace, with which role; the last-owner invariant

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

A membership has a role (owner, admin, member, viewer) and a status (invited, active,
suspended, removed). A workspace can never lose its last active owner: a constraint trigger
rejects the update or delete that would leave none (deferrable, so an ownership transfer can
promote and demote in one transaction). It locks the workspace row first, so two concurrent
demotions cannot both pass on stale counts, with FOR NO KEY UPDATE: the audit trigger's insert
has already taken KEY SHARE on that row (its foreign key check), and FOR UPDATE would wait for
the other demotion's KEY SHARE while that one waits for ours (a deadlock, 40P01).

Rollback: downgrade() drops the trigger, its function and the memberships table, losing every
membership row; workspaces and users are untouched.
"""

from alembic import op

from reference_impl.rls import secure_tenant_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE memberships (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            user_id uuid NOT NULL REFERENCES users (user_id),
            role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
            status text NOT NULL DEFAULT 'active'
                CHECK (status IN ('invited', 'active', 'suspended', 'removed')),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, user_id)
        )""")
    op.execute("CREATE INDEX memberships_user_idx ON memberships (workspace_id, user_id, status)")
    secure_tenant_table("memberships")
    op.execute("""
        CREATE FUNCTION memberships_keep_last_owner() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.role <> 'owner' OR OLD.status <> 'active' THEN
                RETURN NULL;
            END IF;
            -- serialise owner changes per workspace; a deleted workspace takes its members along.
            -- NO KEY UPDATE: it does not conflict with the KEY SHARE the audit row's foreign
            -- key check took on this row in each concurrent demotion (FOR UPDATE deadlocks)
            PERFORM 1 FROM workspaces WHERE workspace_id = OLD.workspace_id FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM memberships
                           WHERE workspace_id = OLD.workspace_id
                             AND role = 'owner' AND status = 'active') THEN
                RAISE EXCEPTION 'workspace % would lose its last active owner', OLD.workspace_id
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_last_owner';
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER memberships_last_owner
        AFTER UPDATE OR DELETE ON memberships
        DEFERRABLE INITIALLY IMMEDIATE
        FOR EACH ROW EXECUTE FUNCTION memberships_keep_last_owner()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER memberships_last_owner ON memberships")
    op.execute("DROP FUNCTION memberships_keep_last_owner()")
    op.execute("DROP TABLE memberships")
