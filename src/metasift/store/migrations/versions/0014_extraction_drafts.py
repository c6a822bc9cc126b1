"""Drafts of extraction and risk-of-bias forms, kept until the reviewer saves the form.

After the full-text files.

Revision ID: 0014_extraction_drafts
Revises: 0013_fulltext_files
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_extraction_drafts"
down_revision = "0013_fulltext_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extraction_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("study_id", "reviewer", "form", name="uq_extraction_drafts_key"),
    )


def downgrade() -> None:
    op.drop_table("extraction_drafts")
