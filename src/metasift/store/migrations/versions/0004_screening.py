"""Screening: model runs (the model states that ranked records) and reviewers' decisions.

Revision ID: 0004_screening
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_screening"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("n_records", sa.Integer, nullable=False),
        sa.Column("n_labelled", sa.Integer, nullable=False),
        sa.Column("n_included", sa.Integer, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_run_id", sa.Integer, sa.ForeignKey("model_runs.id")),
        sa.Column("rank", sa.Integer),
        sa.Column("retracted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("stage IN ('title_abstract', 'full_text')", name="ck_decisions_stage"),
        sa.CheckConstraint(
            "decision IN ('include', 'exclude', 'maybe')", name="ck_decisions_decision"
        ),
    )
    op.create_index("ix_decisions_record_id", "decisions", ["record_id"])
    op.create_index("ix_decisions_model_run_id", "decisions", ["model_run_id"])
    op.create_index("ix_decisions_stage_reviewer", "decisions", ["stage", "reviewer"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("model_runs")
