"""KNOWN-BAD VARIANT: the index serving the work items list's default order is dropped

Revision ID: vl1_lost_sort_index
Revises: the reference head
Create Date: 2026-12-04

The mistake: a cleanup migration drops ``work_items_created_idx`` as "covered by the primary
key" (both lead with workspace_id). The tenant filter is still served by an index, but the
list's ORDER BY created_at is not: every list request reads and sorts the tenant's rows before
its LIMIT. Expected: S05.query-latency NO-GO (a Sort between the Limit and the scan).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vl1_lost_sort_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX work_items_created_idx")


def downgrade() -> None:
    op.execute("CREATE INDEX work_items_created_idx ON work_items (workspace_id, created_at, work_item_id)")
