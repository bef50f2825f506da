"""identity visibility, the foreign-key index baseline, and analytics events

Revision ID: 0008_identity_analytics
Revises: 0005_entitlements
Create Date: 2026-11-22

``users`` stays global (one person, many workspaces) but is no longer enumerable across tenants:
it is under forced row-level security, and a transaction bound to a workspace and an actor
(``app.actor_id``) sees the actor's own row and the rows of people who share an *active*
membership in the bound workspace with an actor who is an active member there. Creating an
identity binds the new user's own id as the actor, so ``INSERT ... RETURNING`` sees the row.

``memberships.user_id`` gets its own index, built CONCURRENTLY (the foreign key to users was backed only by an
index that leads with workspace_id, so deleting a user scanned every membership).

``analytics_events`` (F7-E3) stores product analytics events once per (workspace,
idempotency key), validated against the taxonomy before they are written.

Rollback: downgrade() drops analytics_events (its rows are lost: export them first with COPY if
they matter), drops the memberships.user_id index, and takes users out of row-level security
(its policies are dropped; every row becomes readable by the app role again, as before).
"""

from alembic import op

from reference_impl.rls import secure_tenant_table

revision = "0008_identity_analytics"
down_revision = "0005_entitlements"
branch_labels = None
depends_on = None

ACTOR = "nullif(current_setting('app.actor_id', true), '')::uuid"
TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"


def upgrade() -> None:
    # CONCURRENTLY: memberships is live and written to; a plain build would block those writes
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS memberships_user_id_idx "
                   "ON memberships (user_id)")
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    # memberships is itself under RLS, so the subqueries see the bound workspace's rows only
    op.execute(f"""
        CREATE POLICY users_select_self_or_co_member ON users FOR SELECT USING (
            user_id = {ACTOR}
            OR (EXISTS (SELECT 1 FROM memberships me
                        WHERE me.workspace_id = {TENANT} AND me.user_id = {ACTOR}
                          AND me.status = 'active')
                AND EXISTS (SELECT 1 FROM memberships them
                            WHERE them.workspace_id = {TENANT} AND them.user_id = users.user_id
                              AND them.status = 'active')))""")
    op.execute(f"CREATE POLICY users_insert_self ON users FOR INSERT WITH CHECK (user_id = {ACTOR})")
    op.execute(f"CREATE POLICY users_update_self ON users FOR UPDATE USING (user_id = {ACTOR}) "
               f"WITH CHECK (user_id = {ACTOR})")
    op.execute("""
        CREATE TABLE analytics_events (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            event_id uuid NOT NULL DEFAULT gen_random_uuid(),
            idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z_]*(\\.[a-z_]+)+$'),
            taxonomy_version integer NOT NULL CHECK (taxonomy_version > 0),
            properties jsonb NOT NULL DEFAULT '{}'::jsonb,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, event_id),
            UNIQUE (workspace_id, idempotency_key)
        )""")
    op.execute("CREATE INDEX analytics_events_type_idx ON analytics_events "
               "(workspace_id, event_type, occurred_at)")
    secure_tenant_table("analytics_events", commands=("SELECT", "INSERT"))


def downgrade() -> None:
    op.execute("DROP TABLE analytics_events")
    op.execute("DROP POLICY users_update_self ON users")
    op.execute("DROP POLICY users_insert_self ON users")
    op.execute("DROP POLICY users_select_self_or_co_member ON users")
    op.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS memberships_user_id_idx")
