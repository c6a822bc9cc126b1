"""Conflict resolutions, stage closures, studies and full-text reports.

Revision ID: 0007_fulltext
Revises: 0004_screening, 0005_workflow
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_fulltext"
down_revision = ("0004_screening", "0005_workflow")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("resolved_by", sa.String(128), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resolutions_record_id", "resolutions", ["record_id"])
    op.create_table(
        "stage_closures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(128), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("estimated_recall", sa.Float),
        sa.Column("recall_lower_bound", sa.Float),
        sa.Column("n_screened", sa.Integer, nullable=False),
        sa.Column("n_unscreened", sa.Integer, nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id")),
        sa.Column("location", sa.Text),
        sa.Column("retrieval", sa.String(16), nullable=False),
        sa.Column("not_retrieved_reason", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "retrieval IN ('pending', 'retrieved', 'not_retrieved')", name="ck_reports_retrieval"
        ),
    )
    op.create_index("ix_reports_study_id", "reports", ["study_id"])


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("studies")
    op.drop_table("stage_closures")
    op.drop_table("resolutions")
