"""KNOWN-BAD VARIANT: retrieval ignores the embedding model version

Revision ID: v_ai06_ignores_version
Revises: the reference head
Create Date: 2026-11-22

The embedding filter of the retrieval function keeps the model name but drops its version, so a
query embedded with version 2 is ranked against version-1 vectors too. Expected:
S07.embedding-versioning NO-GO.

Rollback: downgrade() restores the filter on model and version.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai06_ignores_version"
down_revision = HEAD
branch_labels = None
depends_on = None

FILTER = """
CREATE OR REPLACE FUNCTION retrieval_embedding_filter(p_model text, p_model_version text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT {body} $$"""


def upgrade() -> None:
    op.execute(FILTER.format(body="format('e.model = %L', p_model)"))


def downgrade() -> None:
    op.execute(FILTER.format(
        body="format('e.model = %L AND e.model_version = %L', p_model, p_model_version)"))
