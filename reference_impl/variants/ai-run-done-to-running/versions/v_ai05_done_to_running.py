"""KNOWN-BAD VARIANT: a succeeded agent run may start running again

Revision ID: v_ai05_done_to_running
Revises: the reference head
Create Date: 2026-11-22

"Let users re-run a finished agent": the run state machine gains succeeded -> running, so a
finished run's state, outputs and audit no longer describe one execution. Expected:
S06.run-state-tracking NO-GO. The trigger function is rewritten from its stored definition, so
the variant stays one edit away from whatever the reference ships.

Rollback: downgrade() rewrites the function back.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ai05_done_to_running"
down_revision = HEAD
branch_labels = None
depends_on = None

GOOD = "(('pending', 'running'),"
BAD = "(('pending', 'running'), ('succeeded', 'running'),"


def _rewrite(old: str, new: str) -> None:
    conn = op.get_bind()
    definition = conn.exec_driver_sql(
        "select pg_get_functiondef('agent_runs_transition'::regproc)").scalar()
    if old not in definition:
        raise RuntimeError("agent_runs_transition() no longer lists its transitions as expected; "
                           "update this variant")
    # no parameters, but the driver still reads % as a placeholder marker
    conn.exec_driver_sql(definition.replace(old, new, 1).replace("%", "%%"))


def upgrade() -> None:
    _rewrite(GOOD, BAD)


def downgrade() -> None:
    _rewrite(BAD, GOOD)
