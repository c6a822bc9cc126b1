"""De-duplication: runs, clusters with members and evidence, links, manual queue, decisions.

Revision ID: 0003_dedup
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_dedup"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dedup_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records_in", sa.Integer, nullable=False),
        sa.Column("clusters", sa.Integer, nullable=False),
        sa.Column("duplicates_removed", sa.Integer, nullable=False),
        sa.Column("manual_queue", sa.Integer, nullable=False),
        sa.Column("linked", sa.Integer, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
    )
    op.create_table(
        "dedup_clusters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("primary_record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("merged", sa.JSON, nullable=False),
        sa.Column("filled_from", sa.JSON, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("dedup_runs.id"), nullable=False),
    )
    op.create_table(
        "dedup_members",
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column(
            "cluster_id",
            sa.Integer,
            sa.ForeignKey("dedup_clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("matched_with", sa.Integer),
        sa.Column("score", sa.Float),
        sa.Column("rule", sa.Text),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("conflicts", sa.JSON, nullable=False),
    )
    op.create_index("ix_dedup_members_cluster_id", "dedup_members", ["cluster_id"])
    op.create_table(
        "dedup_links",
        sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
    )
    op.create_table(
        "dedup_queue",
        sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("conflicts", sa.JSON, nullable=False),
    )
    op.create_table(
        "dedup_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cluster_id", sa.Integer),
    )
    op.create_index("ix_dedup_decisions_pair", "dedup_decisions", ["record_a", "record_b"])


def downgrade() -> None:
    op.drop_table("dedup_decisions")
    op.drop_table("dedup_queue")
    op.drop_table("dedup_links")
    op.drop_table("dedup_members")
    op.drop_table("dedup_clusters")
    op.drop_table("dedup_runs")
