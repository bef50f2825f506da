"""KNOWN-BAD VARIANT: chunks reference their version without workspace_id

Revision ID: v_ai02_chunk_fk
Revises: the reference head
Create Date: 2026-11-22

The chunk's foreign key is (document_id, version_id) -> document_versions, "ids are unique
anyway". Foreign keys are checked without RLS, so a chunk of workspace A may now point at a
version of workspace B. Expected: S05.chunk-traceability NO-GO (the catalog check and the
cross-workspace insert probe).

Rollback: downgrade() restores the composite key and drops the extra unique constraint.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai02_chunk_fk"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks DROP CONSTRAINT chunks_version_fk")
    op.execute("ALTER TABLE document_versions ADD CONSTRAINT document_versions_ids_key "
               "UNIQUE (document_id, version_id)")
    op.execute("ALTER TABLE chunks ADD CONSTRAINT chunks_version_fk FOREIGN KEY "
               "(document_id, version_id) REFERENCES document_versions (document_id, version_id) "
               "ON DELETE CASCADE")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks DROP CONSTRAINT chunks_version_fk")
    op.execute("ALTER TABLE document_versions DROP CONSTRAINT document_versions_ids_key")
    op.execute("ALTER TABLE chunks ADD CONSTRAINT chunks_version_fk FOREIGN KEY "
               "(workspace_id, document_id, version_id) REFERENCES document_versions "
               "(workspace_id, document_id, version_id) ON DELETE CASCADE")
