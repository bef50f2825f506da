"""KNOWN-BAD VARIANT: the database keeps descriptions to half what the contract publishes

Revision ID: va2_description_limit_halved
Revises: the reference head
Create Date: 2026-12-04

"2,000 characters is plenty": the description CHECK is tightened to 2,000 while the API still
publishes (and validates) 4,000, so a description of 2,001 to 4,000 characters passes the API's
validation and is refused by the database. Every short value still works. Expected:
S04.domain-invariants NO-GO (scenarios/api/test_bounds.py).

Rollback: downgrade() restores the 4,000-character CHECK.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "va2_description_limit_halved"
down_revision = HEAD
branch_labels = None
depends_on = None


def _limit(characters: int) -> None:
    op.execute("ALTER TABLE work_items DROP CONSTRAINT work_items_description_check, "
               f"ADD CONSTRAINT work_items_description_check CHECK (length(description) <= {characters})")


def upgrade() -> None:
    _limit(2000)


def downgrade() -> None:
    _limit(4000)
