"""KNOWN-BAD VARIANT: the app role gets BYPASSRLS

Revision ID: v04_app_role_bypassrls
Revises: 0003
Create Date: 2026-11-22

Every policy is then skipped for the app role. Roles are cluster-wide, so this migration changes
the whole server, not one database: it refuses to run on a server that holds any database the
harness did not create (run it only on a private embedded or docker server, as the bite test
does). Expected: S03.policy-coverage NO-GO (bypass: app-role), and every app-role check refuses
to run.

Rollback: downgrade() takes BYPASSRLS away again.
"""

from alembic import op
from sqlalchemy import text

from reference_impl.rls import app_role
from reference_impl.schema_head import HEAD

revision = "v04_app_role_bypassrls"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    others = op.get_bind().execute(text(
        "select string_agg(datname, ', ') from pg_database where not datistemplate "
        "and datname <> 'postgres' and datname not like 'harness\\_%'")).scalar()
    if others:
        raise RuntimeError(f"refusing to give {app_role()} BYPASSRLS on a shared server (it also "
                           f"holds {others}): run this variant on a private embedded or docker server")
    op.execute(f"ALTER ROLE {app_role()} BYPASSRLS")


def downgrade() -> None:
    op.execute(f"ALTER ROLE {app_role()} NOBYPASSRLS")
