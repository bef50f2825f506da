"""KNOWN-BAD VARIANT: the retrieval function is SECURITY DEFINER

Revision ID: v_ai01_secdef
Revises: the reference head
Create Date: 2026-11-22

"Retrieval is slow under RLS, run it as the owner": the function now runs with its owner's
rights, and an owner that is a superuser (or has BYPASSRLS) sees every workspace. Expected:
S07.cross-tenant-retrieval-negatives NO-GO (bound to A, retrieval returns B's near duplicates).

Rollback: downgrade() makes it SECURITY INVOKER again.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai01_secdef"
down_revision = HEAD
branch_labels = None
depends_on = None

FUNCTION = "retrieve_chunks(vector, text, text, text, integer, text)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} SECURITY DEFINER")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} SECURITY INVOKER")
