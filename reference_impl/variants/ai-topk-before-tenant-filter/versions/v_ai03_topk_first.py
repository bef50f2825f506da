"""KNOWN-BAD VARIANT: the top k is taken before the tenant filter

Revision ID: v_ai03_topk_first
Revises: the reference head
Create Date: 2026-11-22

The retrieval function loses its ``hnsw.iterative_scan`` setting (say, someone "cleaned up"
function options). An HNSW index scan then returns its ``ef_search`` nearest rows across all
workspaces and RLS filters them afterwards: when another workspace holds the nearest vectors,
A gets fewer than k results, or none. Nothing leaks, results go missing. Expected:
S07.cross-tenant-retrieval-negatives NO-GO (the filter-after-limit probe).

Rollback: downgrade() sets the option again.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai03_topk_first"
down_revision = HEAD
branch_labels = None
depends_on = None

FUNCTION = "retrieve_chunks(vector, text, text, text, integer, text)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} RESET hnsw.iterative_scan")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} SET hnsw.iterative_scan = 'strict_order'")
