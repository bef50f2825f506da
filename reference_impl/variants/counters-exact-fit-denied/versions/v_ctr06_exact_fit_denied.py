"""KNOWN-BAD VARIANT: a denial's second look treats an exact fit as no fit

Revision ID: v_ctr06_exact_fit_denied
Revises: the reference head
Create Date: 2026-12-04

consume_entitlement confirms a denial by looking again at the newest open period; here that
look denies when ``used + amount >= quota + grace`` instead of ``>``. Every sequential consume
still gets the right answer (the first, conditional UPDATE decides it); only a consume whose
UPDATE waited on a period being rolled over, and then finds the new empty period with room for
exactly its amount, is denied. Expected: S10.quota-reset-consistency NO-GO
(scenarios/counters/test_reset_races.py, the whole-allowance race).

Rollback: downgrade() puts the reference's comparison back.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "v_ctr06_exact_fit_denied"
down_revision = HEAD
branch_labels = None
depends_on = None

_RIGHT = "c.used + p_amount > c.quota + c.grace"
_WRONG = "c.used + p_amount >= c.quota + c.grace"


def _rewrite(old: str, new: str) -> None:
    # the function's own text, one comparison changed: no copy of the reference to drift from it
    op.execute(f"""
        DO $$
        DECLARE
            source text := pg_get_functiondef('consume_entitlement(uuid, text, bigint, text)'::regprocedure);
        BEGIN
            IF position('{old}' IN source) = 0 THEN
                RAISE EXCEPTION 'consume_entitlement no longer contains %', '{old}';
            END IF;
            EXECUTE replace(source, '{old}', '{new}');
        END $$""")


def upgrade() -> None:
    _rewrite(_RIGHT, _WRONG)


def downgrade() -> None:
    _rewrite(_WRONG, _RIGHT)
