"""KNOWN-BAD VARIANT: idempotency keys unique across all workspaces

Revision ID: v_ctr05_global_idempotency_key
Revises: the reference head
Create Date: 2026-12-04

"Keys are UUIDs anyway, make them globally unique": a unique index on the idempotency key alone.
Workspace B's request under a key workspace A already used is refused (a unique violation), and
the refusal tells B that some other tenant used that key. Expected:
S10.entitlement-counter-accuracy NO-GO (scenarios/counters/test_tenant_keys.py).

Rollback: downgrade() drops the index.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ctr05_global_idempotency_key"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX consumption_records_key_everywhere ON consumption_records "
               "(idempotency_key)")


def downgrade() -> None:
    op.execute("DROP INDEX consumption_records_key_everywhere")
