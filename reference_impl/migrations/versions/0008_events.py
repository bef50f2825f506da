"""events, inbox, dead letters, automation runs, connector credentials, webhooks, billing mirror

Revision ID: 0008_events
Revises: 0007_ai_data
Create Date: 2026-11-22

The replay-safe data path. ``events`` keeps every envelope (event_id, event_type, workspace_id,
correlation_id, version, occurred_at, payload); ``inbox`` records each ``(consumer, event_id)``
processed under a unique key, in the same transaction as the handler's ``event_effects``, so a
duplicate or a crash can never apply an effect twice or half. ``dead_letters`` holds events whose
handler exhausted its retries (error class, attempts, last error) until an explicit replay marks
them replayed. ``automation_runs`` are keyed by an idempotency key with retry state; a run that
exhausts its retries is dead-lettered and gets an ``escalations`` row. ``connector_credentials``
hold only a reference to a secret (a CHECK refuses anything else) and lose it when revoked.
``inbound_webhooks`` stores each accepted provider event once (unique provider event id);
``outbound_deliveries`` and ``delivery_attempts`` log every attempt with its idempotency key;
``subscription_mirror`` keeps the provider's subscription state with the provider sequence that
produced it. Every table is tenant-scoped with forced RLS.

Rollback: downgrade() drops all eleven tables, losing the event store, the inbox (so a later
redelivery would re-apply effects), open dead letters, escalations, webhook and delivery logs and
the subscription mirror (rebuildable from the provider by reconciliation). Export events,
dead_letters and escalations first if they must be kept; the secrets themselves live outside the
database and are untouched.
"""

from alembic import op

from reference_impl.rls import lock_tables_all_or_none, secure_tenant_table

revision = "0008_events"
down_revision = "0007_ai_data"
branch_labels = None
depends_on = None

WS = "workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE"

TABLES = {
    "events": f"""
        {WS},
        event_id uuid NOT NULL,
        event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
        correlation_id text NOT NULL CHECK (length(correlation_id) > 0),
        version integer NOT NULL CHECK (version >= 1),
        occurred_at timestamptz NOT NULL,
        payload jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, event_id)""",
    "inbox": f"""
        {WS},
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT inbox_consumer_event_key PRIMARY KEY (workspace_id, consumer, event_id)""",
    "event_effects": f"""
        {WS},
        effect_id bigint GENERATED ALWAYS AS IDENTITY,
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, effect_id)""",
    "dead_letters": f"""
        {WS},
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        error_class text NOT NULL,
        last_error text NOT NULL,
        attempts integer NOT NULL CHECK (attempts >= 1),
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        replayed_at timestamptz,
        PRIMARY KEY (workspace_id, consumer, event_id)""",
    "automation_runs": f"""
        {WS},
        run_id uuid NOT NULL DEFAULT gen_random_uuid(),
        automation text NOT NULL,
        idempotency_key text NOT NULL CHECK (length(idempotency_key) > 0),
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'retrying', 'succeeded', 'dead_lettered')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
        next_attempt_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, run_id),
        CONSTRAINT automation_runs_idempotency_key UNIQUE (workspace_id, idempotency_key)""",
    "escalations": f"""
        {WS},
        escalation_id bigint GENERATED ALWAYS AS IDENTITY,
        run_id uuid NOT NULL,
        reason text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, escalation_id),
        FOREIGN KEY (workspace_id, run_id) REFERENCES automation_runs (workspace_id, run_id)
            ON DELETE CASCADE""",
    "connector_credentials": f"""
        {WS},
        credential_id uuid NOT NULL DEFAULT gen_random_uuid(),
        connector text NOT NULL,
        secret_ref text CHECK (secret_ref ~ '^secretref://[0-9a-f-]{{36}}$'),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rotated', 'revoked')),
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz,
        revoked_at timestamptz,
        PRIMARY KEY (workspace_id, credential_id),
        CONSTRAINT connector_credentials_revoked_has_no_ref
            CHECK ((status = 'revoked') = (secret_ref IS NULL))""",
    "inbound_webhooks": f"""
        {WS},
        provider text NOT NULL,
        provider_event_id text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        signed_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, provider, provider_event_id)""",
    "outbound_deliveries": f"""
        {WS},
        delivery_id uuid NOT NULL DEFAULT gen_random_uuid(),
        endpoint_url text NOT NULL,
        event_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, delivery_id),
        CONSTRAINT outbound_deliveries_idempotency_key UNIQUE (workspace_id, idempotency_key)""",
    "delivery_attempts": f"""
        {WS},
        delivery_id uuid NOT NULL,
        attempt_no integer NOT NULL CHECK (attempt_no >= 1),
        idempotency_key text NOT NULL,
        replay boolean NOT NULL DEFAULT false,
        status_code integer,
        latency_ms double precision NOT NULL DEFAULT 0,
        error text,
        attempted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, delivery_id, attempt_no),
        FOREIGN KEY (workspace_id, delivery_id) REFERENCES outbound_deliveries (workspace_id, delivery_id)
            ON DELETE CASCADE""",
    "subscription_mirror": f"""
        {WS},
        subscription_id text NOT NULL,
        status text NOT NULL,
        plan text NOT NULL,
        quantity integer NOT NULL CHECK (quantity >= 0),
        provider_sequence bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, subscription_id)""",
}

# the commands the app role may run on each table (default SELECT, INSERT, UPDATE; nothing
# deletes): logs, effects and the event store are append-only
COMMANDS = {
    "events": ("SELECT", "INSERT"),
    "inbox": ("SELECT", "INSERT"),
    "event_effects": ("SELECT", "INSERT"),
    "escalations": ("SELECT", "INSERT"),
    "inbound_webhooks": ("SELECT", "INSERT"),
    "delivery_attempts": ("SELECT", "INSERT"),
}
INDEXES = {
    "event_effects": "(workspace_id, consumer, event_id)",
    "escalations": "(workspace_id, run_id)",
    "delivery_attempts": "(workspace_id, delivery_id)",
    "dead_letters": "(workspace_id, status)",
}


def upgrade() -> None:
    for table, columns in TABLES.items():
        op.execute(f"CREATE TABLE {table} ({columns})")
        secure_tenant_table(table, commands=COMMANDS.get(table, ("SELECT", "INSERT", "UPDATE")))
    for table, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {table}_lookup_idx ON {table} {columns}")


def downgrade() -> None:
    # lock this revision's tables all at once or not at all (see lock_tables_all_or_none):
    # dropping them one by one under tenant traffic deadlocked in the live-load rehearsal
    tables = ", ".join(reversed(list(TABLES)))
    lock_tables_all_or_none(list(reversed(list(TABLES))))
    op.execute(f"DROP TABLE {tables}")
