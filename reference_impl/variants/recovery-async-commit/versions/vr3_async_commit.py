"""KNOWN-BAD VARIANT: synchronous_commit turned off for the database

Revision ID: vr3_async_commit
Revises: the reference head
Create Date: 2026-12-04

"Writes are faster": the migration sets synchronous_commit = off on its own database, so every
session of the app role acknowledges commits before their WAL is flushed; a crash loses the
last of them. The server's settings stay durable: only reading back what a session of the app
role runs with shows it.
Expected: S10.backup-restore-rehearsal NO-GO (a durability setting read back on the restored copy).

Rollback: downgrade() resets it.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "vr3_async_commit"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', "
               "current_database()); END $$")


def downgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET synchronous_commit', "
               "current_database()); END $$")
