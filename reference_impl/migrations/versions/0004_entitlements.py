"""entitlements: quotas per workspace and feature, usage counters per period, consumption records

Revision ID: 0004_entitlements
Revises: 0003
Create Date: 2026-11-22

An entitlement grants a workspace a quota of a feature per period, with an optional grace
allowance above it (grace 0 is a hard limit). Usage is counted in one ``usage_counters`` row per
workspace, feature and period; exactly one period is open at a time (a partial unique index),
and it carries the quota and grace in force, so a plan change and a consume serialise on the
same row lock. Every consume leaves one ``consumption_records`` row under a unique idempotency
key, so a retried request is counted once and answered with the first outcome.

The operations are SQL functions (SECURITY INVOKER: row-level security applies to the caller),
each one call inside the caller's transaction:

- ``consume_entitlement``: one conditional ``UPDATE ... SET used = used + amount WHERE used +
  amount <= quota + grace``. Under READ COMMITTED a blocked UPDATE re-checks that condition on
  the newest row version, so the check and the increment cannot be separated; a denial is
  confirmed under FOR SHARE on the open row, and a period closed under the consume is retried
  on the next open period. The consumption record, with its outcome, is then inserted in the
  same transaction under its unique idempotency key (ON CONFLICT DO NOTHING): a retry that
  finds the key taken (waiting for a concurrent first attempt to commit) takes back its own
  uncommitted increment and answers with the first outcome. One row written per consume.
- ``rollover_usage_period``: closes the open period at its boundary and opens the next one
  (locks the entitlement FOR NO KEY UPDATE, so a consume's foreign-key check is not blocked,
  then the counter row; no row is ever deleted).
- ``change_entitlement_plan``: new quota and grace on the entitlement and on the open period.

Rollback: downgrade() drops the three functions and the three tables, losing every quota,
counter and consumption record; export them first (COPY usage_counters TO ...) if billing needs
them.
"""

from alembic import op

from reference_impl.rls import lock_tables_all_or_none, secure_tenant_table

revision = "0004_entitlements"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("consumption_records", "usage_counters", "entitlements")


def upgrade() -> None:
    _tables()
    for table in reversed(TABLES):
        secure_tenant_table(table)
    _consume()
    _rollover()
    _change_plan()


def _tables() -> None:
    op.execute("""
        CREATE TABLE entitlements (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            feature text NOT NULL CHECK (length(feature) BETWEEN 1 AND 100),
            plan text NOT NULL DEFAULT 'standard',
            quota bigint NOT NULL CHECK (quota >= 0),
            grace bigint NOT NULL DEFAULT 0 CHECK (grace >= 0),
            period_length interval NOT NULL DEFAULT interval '1 month',
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, feature)
        )""")
    op.execute("""
        CREATE TABLE usage_counters (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            feature text NOT NULL,
            period_start timestamptz NOT NULL,
            period_end timestamptz NOT NULL,
            used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
            quota bigint NOT NULL CHECK (quota >= 0),
            grace bigint NOT NULL DEFAULT 0 CHECK (grace >= 0),
            closed boolean NOT NULL DEFAULT false,
            PRIMARY KEY (workspace_id, feature, period_start),
            FOREIGN KEY (workspace_id, feature) REFERENCES entitlements (workspace_id, feature)
                ON DELETE CASCADE
        )""")
    op.execute("CREATE UNIQUE INDEX usage_counters_one_open_period ON usage_counters "
               "(workspace_id, feature) WHERE NOT closed")
    op.execute("""
        CREATE TABLE consumption_records (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            record_id bigint GENERATED ALWAYS AS IDENTITY,
            feature text NOT NULL,
            idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            amount bigint NOT NULL CHECK (amount > 0),
            granted boolean,
            period_start timestamptz,
            used_after bigint,
            quota bigint,
            grace bigint,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, record_id),
            UNIQUE (workspace_id, idempotency_key),
            FOREIGN KEY (workspace_id, feature) REFERENCES entitlements (workspace_id, feature)
                ON DELETE CASCADE
        )""")
    # backs the foreign key to entitlements: dropping a feature must not scan every record
    op.execute("CREATE INDEX consumption_records_feature_idx ON consumption_records "
               "(workspace_id, feature)")


def _consume() -> None:
    op.execute("""
        CREATE FUNCTION consume_entitlement(p_workspace uuid, p_feature text, p_amount bigint,
                                            p_key text)
        RETURNS TABLE (granted boolean, used bigint, quota bigint, grace bigint,
                       period_start timestamptz, replayed boolean)
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
        DECLARE
            c usage_counters%ROWTYPE;
            ok boolean;
            claimed boolean;
        BEGIN
            FOR attempt IN 1..20 LOOP
                UPDATE usage_counters u SET used = u.used + p_amount
                    WHERE u.workspace_id = p_workspace AND u.feature = p_feature AND NOT u.closed
                      AND u.used + p_amount <= u.quota + u.grace
                    RETURNING u.* INTO c;
                IF FOUND THEN ok := true; EXIT; END IF;
                -- denied, unless the period rolled over or the quota rose under us: look again
                -- at the newest open row, and hold it so the denial stays true until commit
                SELECT u.* INTO c FROM usage_counters u
                    WHERE u.workspace_id = p_workspace AND u.feature = p_feature AND NOT u.closed
                    FOR SHARE;
                IF FOUND AND c.used + p_amount > c.quota + c.grace THEN ok := false; EXIT; END IF;
            END LOOP;
            IF ok IS NULL THEN
                RAISE EXCEPTION 'no open usage period for feature % in workspace %',
                    p_feature, p_workspace USING ERRCODE = 'P0002';
            END IF;
            -- the key is claimed in the same transaction: a concurrent retry waits here for the
            -- first one to commit, then finds the key taken
            INSERT INTO consumption_records (workspace_id, feature, idempotency_key, amount, granted,
                                             period_start, used_after, quota, grace)
            VALUES (p_workspace, p_feature, p_key, p_amount, ok, c.period_start, c.used, c.quota,
                    c.grace)
            ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
            RETURNING true INTO claimed;
            IF claimed IS NULL THEN
                -- a retry: take back our own uncommitted increment (the row is still ours alone)
                -- and answer with the first outcome, counting nothing
                IF ok THEN
                    UPDATE usage_counters u SET used = u.used - p_amount
                        WHERE u.workspace_id = p_workspace AND u.feature = p_feature
                          AND u.period_start = c.period_start;
                END IF;
                RETURN QUERY SELECT r.granted, r.used_after, r.quota, r.grace, r.period_start, true
                    FROM consumption_records r
                    WHERE r.workspace_id = p_workspace AND r.idempotency_key = p_key;
                RETURN;
            END IF;
            RETURN QUERY SELECT ok, c.used, c.quota, c.grace, c.period_start, false;
        END $$""")


def _rollover() -> None:
    op.execute("""
        CREATE FUNCTION rollover_usage_period(p_workspace uuid, p_feature text)
        RETURNS TABLE (closed_period timestamptz, closed_used bigint, opened_period timestamptz)
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
        DECLARE
            e entitlements%ROWTYPE;
            c usage_counters%ROWTYPE;
        BEGIN
            -- the entitlement first, as change_entitlement_plan does: one lock order, no deadlock.
            -- NO KEY UPDATE, not UPDATE: a consume holding the counter row inserts its record,
            -- whose foreign key takes KEY SHARE on this row; FOR UPDATE would make it wait for
            -- us while we wait for its counter row (a deadlock, broken after deadlock_timeout)
            SELECT * INTO e FROM entitlements
                WHERE workspace_id = p_workspace AND feature = p_feature FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no entitlement for feature % in workspace %', p_feature, p_workspace
                    USING ERRCODE = 'P0002';
            END IF;
            UPDATE usage_counters u SET closed = true
                WHERE u.workspace_id = p_workspace AND u.feature = p_feature AND NOT u.closed
                RETURNING u.* INTO c;
            INSERT INTO usage_counters (workspace_id, feature, period_start, period_end, quota, grace)
                VALUES (p_workspace, p_feature, c.period_end, c.period_end + e.period_length,
                        e.quota, e.grace);
            RETURN QUERY SELECT c.period_start, c.used, c.period_end;
        END $$""")


def _change_plan() -> None:
    op.execute("""
        CREATE FUNCTION change_entitlement_plan(p_workspace uuid, p_feature text, p_plan text,
                                                p_quota bigint, p_grace bigint)
        RETURNS TABLE (period_start timestamptz, used bigint, quota bigint, grace bigint)
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
        BEGIN
            UPDATE entitlements SET plan = p_plan, quota = p_quota, grace = p_grace,
                                    updated_at = now()
                WHERE workspace_id = p_workspace AND feature = p_feature;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no entitlement for feature % in workspace %', p_feature, p_workspace
                    USING ERRCODE = 'P0002';
            END IF;
            RETURN QUERY UPDATE usage_counters u SET quota = p_quota, grace = p_grace
                WHERE u.workspace_id = p_workspace AND u.feature = p_feature AND NOT u.closed
                RETURNING u.period_start, u.used, u.quota, u.grace;
        END $$""")


def downgrade() -> None:
    # lock this revision's tables all at once or not at all (see lock_tables_all_or_none):
    # dropping them one by one under tenant traffic deadlocked in the live-load rehearsal
    lock_tables_all_or_none(TABLES)
    op.execute("DROP FUNCTION change_entitlement_plan(uuid, text, text, bigint, bigint)")
    op.execute("DROP FUNCTION rollover_usage_period(uuid, text)")
    op.execute("DROP FUNCTION consume_entitlement(uuid, text, bigint, text)")
    op.execute(f"DROP TABLE {', '.join(TABLES)}")
