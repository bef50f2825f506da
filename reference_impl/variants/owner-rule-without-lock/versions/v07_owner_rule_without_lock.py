"""KNOWN-BAD VARIANT: the last-owner rule reads the other owners without serialising

Revision ID: v07_owner_rule_without_lock
Revises: the reference head
Create Date: 2026-12-04

memberships_keep_last_owner() loses its `FOR UPDATE` on the workspace row (the mutation tool's
drop-row-lock mutant of 0002): one change at a time the rule still holds, but owners who demote
themselves at the same moment each see the others still owners and all succeed, leaving the
workspace with no owner. Expected: S03.role-matrix NO-GO (the owner race).

Rollback: downgrade() restores the reference function.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v07_owner_rule_without_lock"
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
    op.execute(_FUNCTION.format(lock=""))


def downgrade() -> None:
    op.execute(_FUNCTION.format(lock=" FOR NO KEY UPDATE"))
