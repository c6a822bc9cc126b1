"""Imports, records and rejected records.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_read", sa.Integer, nullable=False),
        sa.Column("n_imported", sa.Integer, nullable=False),
        sa.Column("n_rejected", sa.Integer, nullable=False),
        sa.Column("n_merged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("options", sa.JSON, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("abstract", sa.Text),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("authors_raw", sa.JSON, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("journal", sa.Text),
        sa.Column("journal_abbrev", sa.Text),
        sa.Column("volume", sa.Text),
        sa.Column("issue", sa.Text),
        sa.Column("pages", sa.Text),
        sa.Column("doi", sa.Text),
        sa.Column("pmid", sa.String(16)),
        sa.Column("pmcid", sa.String(16)),
        sa.Column("issn", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("mesh_terms", sa.JSON, nullable=False),
        sa.Column("language", sa.Text),
        sa.Column("publication_types", sa.JSON, nullable=False),
        sa.Column("record_type", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("source_database", sa.Text),
        sa.Column("source_file", sa.Text),
        sa.Column("source_id", sa.Text),
        sa.Column("label", sa.Integer),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.UniqueConstraint("import_id", "position", name="uq_records_import_position"),
    )
    op.create_index("ix_records_import_id", "records", ["import_id"])
    op.create_index("ix_records_doi", "records", ["doi"])
    op.create_index("ix_records_pmid", "records", ["pmid"])
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_rejections_import_id", "rejections", ["import_id"])


def downgrade() -> None:
    op.drop_table("rejections")
    op.drop_table("records")
    op.drop_table("imports")
