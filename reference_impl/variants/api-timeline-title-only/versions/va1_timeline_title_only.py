"""KNOWN-BAD VARIANT: the timeline records only title and status changes

Revision ID: va1_timeline_title_only
Revises: the reference head
Create Date: 2026-12-04

"The timeline shows what the list shows": the activity trigger is recreated to fire on
INSERT, DELETE and UPDATE OF title, status only, so a priority or description edit leaves no
timeline row. Expected: S04.timeline-durability NO-GO.

Rollback: downgrade() restores the trigger on every update.
"""

from alembic import op

from reference_impl.schema_head import HEAD

revision = "va1_timeline_title_only"
down_revision = HEAD
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER work_items_activity ON work_items")
    op.execute("CREATE TRIGGER work_items_activity AFTER INSERT OR DELETE OR UPDATE OF title, status "
               "ON work_items FOR EACH ROW EXECUTE FUNCTION work_items_activity()")


def downgrade() -> None:
    op.execute("DROP TRIGGER work_items_activity ON work_items")
    op.execute("CREATE TRIGGER work_items_activity AFTER INSERT OR UPDATE OR DELETE ON work_items "
               "FOR EACH ROW EXECUTE FUNCTION work_items_activity()")
