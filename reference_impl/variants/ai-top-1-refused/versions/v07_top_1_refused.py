"""KNOWN-BAD VARIANT: retrieval refuses a top-1

Revision ID: v07_top_1_refused
Revises: the reference head
Create Date: 2026-12-04

retrieve_chunks' argument check becomes `p_k <= 1`: every k above one still works, so every
relevance and isolation probe at k = 10 passes, and a caller asking for the single best chunk
gets an error. Expected: S07.cross-tenant-retrieval-negatives NO-GO (the top-1 probe).

Rollback: downgrade() restores the reference check.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v07_top_1_refused"
down_revision = HEAD
branch_labels = None
depends_on = None

_REWRITE = """
    DO $$
    BEGIN
        EXECUTE replace(pg_get_functiondef(
            'retrieve_chunks(vector, text, text, text, integer, text)'::regprocedure), '{old}', '{new}');
    END $$"""


def upgrade() -> None:
    op.execute(_REWRITE.format(old="OR p_k < 1", new="OR p_k <= 1"))


def downgrade() -> None:
    op.execute(_REWRITE.format(old="OR p_k <= 1", new="OR p_k < 1"))
