"""A round keeps which earlier reports were settled when it started (the previous version's).

Revision ID: 0019_round_reports
Revises: 0018_annotations
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_round_reports"
down_revision = "0018_annotations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rounds started before this revision keep NULL: what was settled then is not known, and
    # the PRISMA counts fall back to what is settled now (see metasift.workflow.counts).
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("settled_reports", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("settled_reports")
