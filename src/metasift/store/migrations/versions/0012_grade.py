"""GRADE judgements: a reviewer's confirmed or overridden judgement per analysis and domain.

Revision ID: 0012_grade
Revises: 0011_import_details
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_grade"
down_revision = "0011_import_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grade_judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("analysis", sa.String(200), nullable=False),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("proposed_level", sa.Integer, nullable=False),
        sa.Column("proposed_rule", sa.Text, nullable=False),
        sa.Column("footnote", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("analysis", "domain", name="uq_grade_judgements_key"),
    )


def downgrade() -> None:
    op.drop_table("grade_judgements")
