"""KNOWN-BAD VARIANT: a failed ingestion attempt is always retried

Revision ID: v_ai07_no_attempt_limit
Revises: the reference head
Create Date: 2026-11-22

The job transition no longer routes a failed attempt to the dead letter once ``max_attempts``
are spent: a poison document is retried for ever and never shows up in the diagnostics.
Expected: S05.ingestion-recovery NO-GO (and S05.dead-letter-diagnostics, which has no dead
letter to show). The trigger function is rewritten from its stored definition.

Rollback: downgrade() rewrites the function back.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai07_no_attempt_limit"
down_revision = HEAD
branch_labels = None
depends_on = None

GOOD = "IF NEW.attempts >= NEW.max_attempts THEN"
BAD = "IF false THEN  -- no attempt limit"


def _rewrite(old: str, new: str) -> None:
    conn = op.get_bind()
    definition = conn.exec_driver_sql(
        "select pg_get_functiondef('ingestion_jobs_transition'::regproc)").scalar()
    if old not in definition:
        raise RuntimeError("ingestion_jobs_transition() no longer checks the attempt limit as "
                           "expected; update this variant")
    # no parameters, but the driver still reads % as a placeholder marker
    conn.exec_driver_sql(definition.replace(old, new, 1).replace("%", "%%"))


def upgrade() -> None:
    _rewrite(GOOD, BAD)


def downgrade() -> None:
    _rewrite(BAD, GOOD)
