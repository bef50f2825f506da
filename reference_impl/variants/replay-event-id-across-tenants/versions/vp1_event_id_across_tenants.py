"""KNOWN-BAD VARIANT: event ids unique across all workspaces

Revision ID: vp1_event_id_across_tenants
Revises: the reference head
Create Date: 2026-12-04

"Event ids are UUIDs anyway": a unique index on the event id alone. Every delivery in one
workspace is still right; workspace B's event under an id workspace A already used is refused
(a unique violation that tells B some tenant used that id). Expected: S08.idempotency NO-GO
(scenarios/replay/test_duplicates.py, the reused event id).

Rollback: downgrade() drops the index.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vp1_event_id_across_tenants"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX events_id_everywhere ON events (event_id)")


def downgrade() -> None:
    op.execute("DROP INDEX events_id_everywhere")
