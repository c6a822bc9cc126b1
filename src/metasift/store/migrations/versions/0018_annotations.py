"""Notes and labels on records, and each reviewer's highlight terms.

Revision ID: 0018_annotations
Revises: 0017_rounds
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_annotations"
down_revision = "0017_rounds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_record_notes_record_id", "record_notes", ["record_id"])
    op.create_table(
        "record_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("record_id", "label", name="uq_record_labels_record_id"),
    )
    op.create_index("ix_record_labels_label", "record_labels", ["label"])
    op.create_table(
        "highlight_terms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("term", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.UniqueConstraint("reviewer", "term", name="uq_highlight_terms_reviewer"),
        sa.CheckConstraint("kind IN ('include', 'exclude')", name="ck_highlight_terms_kind"),
    )


def downgrade() -> None:
    op.drop_table("highlight_terms")
    op.drop_table("record_labels")
    op.drop_table("record_notes")
