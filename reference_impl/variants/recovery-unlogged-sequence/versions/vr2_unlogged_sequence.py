"""KNOWN-BAD VARIANT: a tenant table numbered by an UNLOGGED sequence

Revision ID: vr2_unlogged_sequence
Revises: the reference head
Create Date: 2026-12-04

The invoices come back with a restore (the table is logged); their numbering sequence is
UNLOGGED ("it is only a counter"), so recovery resets it to its start and the first invoice
written after the restore collides with a restored one.
Expected: S10.backup-restore-rehearsal NO-GO (restored sequence behind its rows; the next write
hits a duplicate key).

Rollback: downgrade() undoes it.
"""

from alembic import op

from reference_impl.rls import app_role, secure_tenant_table
from reference_impl.schema_head import HEAD

revision = "vr2_unlogged_sequence"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNLOGGED SEQUENCE invoice_numbers")
    op.execute("""
        CREATE TABLE invoices (
            workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
            invoice_no bigint NOT NULL DEFAULT nextval('invoice_numbers'),
            note text NOT NULL DEFAULT '',
            PRIMARY KEY (workspace_id, invoice_no)
        )""")
    op.execute("ALTER SEQUENCE invoice_numbers OWNED BY invoices.invoice_no")
    secure_tenant_table("invoices")
    op.execute(f"GRANT USAGE ON SEQUENCE invoice_numbers TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP TABLE invoices")
