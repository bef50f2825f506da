"""KNOWN-BAD VARIANT: the work items list index replaced by a hash index on the tenant column

Revision ID: vs8_hot_query_hash_index
Revises: the reference head
Create Date: 2026-12-04

work_items still has indexes that lead with workspace_id (status, priority), so the catalog's
tenant access path holds, but none returns a tenant's items by (created_at, work_item_id): the
newest page reads and sorts every item of the tenant.

Expected: S00.index-baseline NO-GO (the hot query "newest work items page" sorts).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vs8_hot_query_hash_index"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX work_items_created_idx")
    op.execute("CREATE INDEX work_items_workspace_hash_idx ON work_items USING hash (workspace_id)")


def downgrade() -> None:
    op.execute("DROP INDEX work_items_workspace_hash_idx")
    op.execute("CREATE INDEX work_items_created_idx ON work_items "
               "(workspace_id, created_at, work_item_id)")
