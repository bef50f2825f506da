"""KNOWN-BAD VARIANT: the membership audit blocks the deletion of a whole workspace

Revision ID: v07_audit_blocks_tenant_deletion
Revises: the reference head
Create Date: 2026-12-04

memberships_audit() loses its guard for a workspace being deleted: a workspace's deletion
cascades to its memberships, and the trigger writes an audit row for each, naming the workspace
that is going away, so the audit row's foreign key fails (23503) and the workspace cannot be
deleted while it has members. Expected: S03.cross-tenant-negatives NO-GO (the tenant root's
unfiltered DELETE, bound to A, must take A's whole tenant with it, not break on the way).

Rollback: downgrade() restores the reference function.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v07_audit_blocks_tenant_deletion"
down_revision = HEAD
branch_labels = None
depends_on = None

_REFERENCE = """
        CREATE OR REPLACE FUNCTION memberships_audit() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            row_new memberships := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW END;
            row_old memberships := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD END;
            subject memberships := coalesce(row_new, row_old);
        BEGIN
            -- a workspace being deleted takes its audit trail with it (ON DELETE CASCADE); an
            -- audit row for its cascaded memberships would reference a workspace that is gone
            IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM workspaces
                                                WHERE workspace_id = OLD.workspace_id) THEN
                RETURN NULL;
            END IF;
            INSERT INTO audit_log (workspace_id, action, actor_user_id, subject_user_id, details,
                                   correlation_id)
            VALUES (
                subject.workspace_id,
                'membership.' || lower(TG_OP),
                nullif(current_setting('app.actor_id', true), '')::uuid,
                subject.user_id,
                jsonb_build_object('old', to_jsonb(row_old) - 'workspace_id',
                                   'new', to_jsonb(row_new) - 'workspace_id'),
                coalesce(nullif(current_setting('app.correlation_id', true), ''),
                         gen_random_uuid()::text));
            RETURN NULL;
        END $$"""

_WITHOUT_GUARD = """
        CREATE OR REPLACE FUNCTION memberships_audit() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            row_new memberships := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW END;
            row_old memberships := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD END;
            subject memberships := coalesce(row_new, row_old);
        BEGIN
            INSERT INTO audit_log (workspace_id, action, actor_user_id, subject_user_id, details,
                                   correlation_id)
            VALUES (
                subject.workspace_id,
                'membership.' || lower(TG_OP),
                nullif(current_setting('app.actor_id', true), '')::uuid,
                subject.user_id,
                jsonb_build_object('old', to_jsonb(row_old) - 'workspace_id',
                                   'new', to_jsonb(row_new) - 'workspace_id'),
                coalesce(nullif(current_setting('app.correlation_id', true), ''),
                         gen_random_uuid()::text));
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    op.execute(_WITHOUT_GUARD)


def downgrade() -> None:
    op.execute(_REFERENCE)
