"""audit_log: an append-only trail of every membership and role change

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Every insert, update or delete of a membership writes one audit row in the same transaction,
with the actor (``app.actor_id``) and the correlation id (``app.correlation_id``) bound to the
transaction; a change made without a correlation id gets a fresh one, so no row is untraceable.
The app role may SELECT and INSERT audit rows and nothing else: the trail is append-only.

Rollback: downgrade() drops the audit trigger, its function and audit_log, losing the whole
audit trail; export it first (COPY audit_log TO ...) if it must be kept.
"""

from alembic import op

from reference_impl.rls import secure_tenant_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE audit_log (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            audit_id bigint GENERATED ALWAYS AS IDENTITY,
            action text NOT NULL,
            actor_user_id uuid,
            subject_user_id uuid,
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            correlation_id text NOT NULL CHECK (length(correlation_id) > 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, audit_id)
        )""")
    op.execute("CREATE INDEX audit_log_correlation_idx ON audit_log (workspace_id, correlation_id)")
    secure_tenant_table("audit_log", commands=("SELECT", "INSERT"))
    op.execute("""
        CREATE FUNCTION memberships_audit() RETURNS trigger
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
        END $$""")
    op.execute("""
        CREATE TRIGGER memberships_audit
        AFTER INSERT OR UPDATE OR DELETE ON memberships
        FOR EACH ROW EXECUTE FUNCTION memberships_audit()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER memberships_audit ON memberships")
    op.execute("DROP FUNCTION memberships_audit()")
    op.execute("DROP TABLE audit_log")
