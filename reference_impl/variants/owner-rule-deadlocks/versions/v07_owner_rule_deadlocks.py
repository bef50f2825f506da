"""KNOWN-BAD VARIANT: the last-owner rule locks the workspace row FOR UPDATE (it deadlocks)

Revision ID: v07_owner_rule_deadlocks
Revises: the reference head
Create Date: 2026-12-04

memberships_keep_last_owner() locks the workspace row FOR UPDATE, as the reference did before
round 4. A demotion's audit row is inserted first (the audit trigger fires before the
constraint trigger), and its foreign key check takes KEY SHARE on the workspace row; FOR UPDATE
conflicts with KEY SHARE, so two owners demoting themselves at once each wait for the other's
KEY SHARE: a deadlock (40P01), and an owner is answered with an error. The rule still holds
(nothing changed), but the target fails an ordinary request. Expected: S03.role-matrix NO-GO
(the owner race counts a deadlock as a failure of the target).

The window is widened on purpose (pg_sleep before the lock, after the audit row), so every race
has each owner's KEY SHARE taken before any asks for the row lock: without it the deadlock shows
only when the demotions overlap by chance. The reference's FOR NO KEY UPDATE does not conflict
with KEY SHARE, so there the demotions would only queue behind each other.

Rollback: downgrade() restores the reference function (FOR NO KEY UPDATE).
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v07_owner_rule_deadlocks"
down_revision = HEAD
branch_labels = None
depends_on = None

_FUNCTION = """
    CREATE OR REPLACE FUNCTION memberships_keep_last_owner() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.role <> 'owner' OR OLD.status <> 'active' THEN
            RETURN NULL;
        END IF;
        PERFORM pg_sleep({pause});
        PERFORM 1 FROM workspaces WHERE workspace_id = OLD.workspace_id{lock};
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
    END $$"""


def upgrade() -> None:
    op.execute(_FUNCTION.format(lock=" FOR UPDATE", pause="0.3"))


def downgrade() -> None:
    op.execute(_FUNCTION.format(lock=" FOR NO KEY UPDATE", pause="0"))
