"""Live searches (PRISMA-S provenance) and the records of unfinished searches.

Revision ID: 0002_search
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "searches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("database", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("query_input", sa.Text, nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("adhoc", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n_reported", sa.Integer),
        sa.Column("n_retrieved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_imported", sa.Integer),
        sa.Column("n_merged", sa.Integer),
        sa.Column("n_rejected", sa.Integer),
        sa.Column("n_batches", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_resumed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("warning", sa.Text),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id")),
    )
    op.create_index("ix_searches_kind", "searches", ["kind"])
    op.create_index("ix_searches_import_id", "searches", ["import_id"])
    op.create_table(
        "search_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("search_id", sa.Integer, sa.ForeignKey("searches.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("item", sa.JSON, nullable=False),
        sa.UniqueConstraint("search_id", "key", name="uq_search_records_search_key"),
    )
    op.create_index("ix_search_records_search_id", "search_records", ["search_id"])


def downgrade() -> None:
    op.drop_table("search_records")
    op.drop_table("searches")
