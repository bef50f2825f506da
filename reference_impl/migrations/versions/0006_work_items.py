"""work_items, their activity timeline and API tokens

Revision ID: 0006_work_items
Revises: 0005_identity_analytics
Create Date: 2026-11-22

The core workflow's domain (F3-E1, F3-E2, F3-E3):

- ``work_items``: one row per item of a workspace, with a lifecycle draft -> active -> done ->
  archived enforced by a BEFORE trigger (an illegal transition, any change to an archived item,
  and deleting anything but a draft are refused with SQLSTATE 23514, whoever writes), and a
  ``version`` that the same trigger bumps on every update (optimistic concurrency: writers say
  which version they read, a stale one matches no row). Keyset pagination is served by
  ``(workspace_id, created_at, work_item_id)`` indexes, per status and per priority as well.
- ``work_item_activity``: the timeline. An AFTER trigger writes one row per insert, update or
  delete of a work item in the same transaction, with the actor (``app.actor_id``) and the
  correlation id (``app.correlation_id``; a fresh one when none is bound). It references the
  workspace only, so a deleted draft keeps its history. Append-only for the app role.
- ``api_tokens``: bearer tokens bound to a user and a workspace, stored as the SHA-256 of the
  secret only, with an expiry and a revocation time.

Every table is a tenant table with forced row-level security (``secure_tenant_table``).

Rollback: downgrade() drops the triggers, their functions and the three tables, losing every
work item, its whole activity timeline and every API token (clients must be issued new tokens
after a re-upgrade). Export work_items and work_item_activity first if they must be kept.
"""

from alembic import op

from reference_impl.rls import lock_tables_all_or_none, secure_tenant_table

revision = "0006_work_items"
down_revision = "0005_identity_analytics"
branch_labels = None
depends_on = None

STATUSES = "('draft', 'active', 'done', 'archived')"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE work_items (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            work_item_id uuid NOT NULL DEFAULT gen_random_uuid(),
            title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
            status text NOT NULL DEFAULT 'draft' CHECK (status IN {STATUSES}),
            priority smallint NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 4),
            version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
            created_by uuid REFERENCES users (user_id),
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (workspace_id, work_item_id)
        )""")
    # keyset pagination: every list order ends in (created_at, work_item_id), a unique key
    op.execute("CREATE INDEX work_items_created_idx ON work_items (workspace_id, created_at, work_item_id)")
    op.execute("CREATE INDEX work_items_status_idx ON work_items "
               "(workspace_id, status, created_at, work_item_id)")
    op.execute("CREATE INDEX work_items_priority_idx ON work_items "
               "(workspace_id, priority, created_at, work_item_id)")
    op.execute("CREATE INDEX work_items_created_by_idx ON work_items (created_by)")
    secure_tenant_table("work_items")

    op.execute(f"""
        CREATE TABLE work_item_activity (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            activity_id bigint GENERATED ALWAYS AS IDENTITY,
            work_item_id uuid NOT NULL,
            action text NOT NULL CHECK (action IN ('created', 'updated', 'transitioned', 'deleted')),
            actor_user_id uuid,
            correlation_id text NOT NULL CHECK (length(correlation_id) > 0),
            from_status text CHECK (from_status IN {STATUSES}),
            to_status text CHECK (to_status IN {STATUSES}),
            version integer NOT NULL DEFAULT 1,
            changes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (workspace_id, activity_id)
        )""")
    op.execute("CREATE INDEX work_item_activity_item_idx ON work_item_activity "
               "(workspace_id, work_item_id, activity_id)")
    op.execute("CREATE INDEX work_item_activity_correlation_idx ON work_item_activity "
               "(workspace_id, correlation_id)")
    secure_tenant_table("work_item_activity", commands=("SELECT", "INSERT"))

    op.execute("""
        CREATE TABLE api_tokens (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            token_id uuid NOT NULL DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES users (user_id),
            token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            PRIMARY KEY (workspace_id, token_id)
        )""")
    op.execute("CREATE INDEX api_tokens_user_idx ON api_tokens (user_id)")
    secure_tenant_table("api_tokens", commands=("SELECT", "INSERT", "UPDATE"))

    _lifecycle_trigger()
    _activity_trigger()


def _lifecycle_trigger() -> None:
    op.execute("""
        CREATE FUNCTION work_items_lifecycle() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                -- a workspace being deleted takes its items along, whatever their state
                IF OLD.status <> 'draft' AND EXISTS (SELECT 1 FROM workspaces
                                                     WHERE workspace_id = OLD.workspace_id) THEN
                    RAISE EXCEPTION 'work item % is %, only a draft may be deleted',
                        OLD.work_item_id, OLD.status
                        USING ERRCODE = 'check_violation', CONSTRAINT = 'work_items_lifecycle';
                END IF;
                RETURN OLD;
            END IF;
            IF TG_OP = 'INSERT' THEN
                IF NEW.status <> 'draft' OR NEW.version <> 1 THEN
                    RAISE EXCEPTION 'a work item starts as a draft at version 1'
                        USING ERRCODE = 'check_violation', CONSTRAINT = 'work_items_lifecycle';
                END IF;
                RETURN NEW;
            END IF;
            IF OLD.status = 'archived' THEN
                RAISE EXCEPTION 'work item % is archived and cannot change', OLD.work_item_id
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'work_items_lifecycle';
            END IF;
            IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
                    ('draft', 'active'), ('active', 'done'), ('done', 'archived')) THEN
                RAISE EXCEPTION 'work item % cannot go from % to %', OLD.work_item_id,
                    OLD.status, NEW.status
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'work_items_lifecycle';
            END IF;
            -- moving a row to another workspace is row-level security's to refuse (42501)
            IF NEW.work_item_id <> OLD.work_item_id OR NEW.created_at <> OLD.created_at THEN
                RAISE EXCEPTION 'a work item keeps its id and creation time'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'work_items_lifecycle';
            END IF;
            NEW.version := OLD.version + 1;
            NEW.updated_at := clock_timestamp();
            RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TRIGGER work_items_lifecycle
        BEFORE INSERT OR UPDATE OR DELETE ON work_items
        FOR EACH ROW EXECUTE FUNCTION work_items_lifecycle()""")


def _activity_trigger() -> None:
    op.execute("""
        CREATE FUNCTION work_items_activity() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            subject work_items := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            verb text := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'DELETE' THEN 'deleted'
                              ELSE CASE WHEN NEW.status IS DISTINCT FROM OLD.status
                                        THEN 'transitioned' ELSE 'updated' END END;
            changed jsonb := '{}'::jsonb;
        BEGIN
            IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM workspaces
                                                WHERE workspace_id = OLD.workspace_id) THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'UPDATE' THEN
                SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb) INTO changed
                FROM jsonb_each(to_jsonb(NEW) - 'version' - 'updated_at') AS n
                WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
            END IF;
            INSERT INTO work_item_activity (workspace_id, work_item_id, action, actor_user_id,
                                            correlation_id, from_status, to_status, version, changes)
            VALUES (
                subject.workspace_id, subject.work_item_id, verb,
                nullif(current_setting('app.actor_id', true), '')::uuid,
                coalesce(nullif(current_setting('app.correlation_id', true), ''),
                         gen_random_uuid()::text),
                CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END,
                CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.status END,
                subject.version, changed);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER work_items_activity
        AFTER INSERT OR UPDATE OR DELETE ON work_items
        FOR EACH ROW EXECUTE FUNCTION work_items_activity()""")


def downgrade() -> None:
    # lock this revision's tables all at once or not at all (see lock_tables_all_or_none):
    # dropping them one by one under tenant traffic deadlocked in the live-load rehearsal
    lock_tables_all_or_none(("api_tokens", "work_item_activity", "work_items"))
    op.execute("DROP TRIGGER work_items_activity ON work_items")
    op.execute("DROP FUNCTION work_items_activity()")
    op.execute("DROP TRIGGER work_items_lifecycle ON work_items")
    op.execute("DROP FUNCTION work_items_lifecycle()")
    op.execute("DROP TABLE api_tokens, work_item_activity, work_items")
