"""Extraction values, automatic suggestions and risk-of-bias judgements.

Revision ID: 0006_extraction
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_extraction"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extraction_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("arm", sa.String(200), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(100), nullable=False, server_default=""),
        sa.Column("timepoint", sa.String(100), nullable=False, server_default=""),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_detail", sa.JSON, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "study_id",
            "field",
            "arm",
            "outcome",
            "timepoint",
            "reviewer",
            name="uq_extraction_values_key",
        ),
    )
    op.create_index("ix_extraction_values_study_id", "extraction_values", ["study_id"])
    op.create_table(
        "extraction_suggestions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("arm", sa.String(200), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(100), nullable=False, server_default=""),
        sa.Column("timepoint", sa.String(100), nullable=False, server_default=""),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("text_source", sa.Text, nullable=False),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.Column("sentence_start", sa.Integer, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("method", sa.String(100), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("reviewer", sa.String(100)),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("final_value", sa.JSON),
        sa.UniqueConstraint("key", name="uq_extraction_suggestions_key"),
    )
    op.create_index("ix_extraction_suggestions_study_id", "extraction_suggestions", ["study_id"])
    op.create_table(
        "rob_judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, nullable=False),
        sa.Column("tool", sa.String(16), nullable=False),
        sa.Column("result", sa.String(200), nullable=False, server_default=""),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("algorithm", sa.String(32)),
        sa.Column("judgement", sa.String(32), nullable=False),
        sa.Column("support", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "study_id", "tool", "result", "domain", "reviewer", name="uq_rob_judgements_key"
        ),
    )
    op.create_index("ix_rob_judgements_study_id", "rob_judgements", ["study_id"])


def downgrade() -> None:
    op.drop_table("rob_judgements")
    op.drop_table("extraction_suggestions")
    op.drop_table("extraction_values")
