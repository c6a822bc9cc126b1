"""Full texts stored in the project folder, and the look-ups that found them or did not.

Revision ID: 0013_fulltext_files
Revises: 0012_grade
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_fulltext_files"
down_revision = "0012_grade"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulltext_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("licence", sa.Text),
        sa.Column("pages", sa.Integer),
        sa.Column("stored_by", sa.String(128), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("record_id", "sha256", name="uq_fulltext_files_record_id"),
    )
    op.create_index("ix_fulltext_files_record_id", "fulltext_files", ["record_id"])
    op.create_table(
        "fulltext_lookups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fetch_run", sa.Integer, nullable=False),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('stored', 'not_found', 'refused', 'failed')",
            name="ck_fulltext_lookups_outcome",
        ),
    )
    op.create_index("ix_fulltext_lookups_record_id", "fulltext_lookups", ["record_id"])


def downgrade() -> None:
    op.drop_table("fulltext_lookups")
    op.drop_table("fulltext_files")
