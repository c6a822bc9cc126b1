"""Extraction suggestions taken from a stored full text: which text, and which of its parts.

Revision ID: 0015_fulltext_suggestions
Revises: 0014_extraction_drafts
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_fulltext_suggestions"
down_revision = "0014_extraction_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("extraction_suggestions") as batch:
        # The full text's checksum (fulltext_files.sha256); empty for title and abstract.
        batch.add_column(sa.Column("fulltext_sha256", sa.String(64)))
        # The part's position in the text's parts (a name such as "Abstract" may repeat).
        batch.add_column(sa.Column("part_index", sa.Integer))
    op.create_index(
        "ix_extraction_suggestions_fulltext_sha256", "extraction_suggestions", ["fulltext_sha256"]
    )


def downgrade() -> None:
    op.drop_index("ix_extraction_suggestions_fulltext_sha256", "extraction_suggestions")
    with op.batch_alter_table("extraction_suggestions") as batch:
        batch.drop_column("part_index")
        batch.drop_column("fulltext_sha256")
