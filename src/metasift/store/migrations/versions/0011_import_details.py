"""PRISMA-S details of each import: the database the export states, how the source name was
obtained, platform, date searched, search string, limits and where PRISMA counts it.

Revision ID: 0011_import_details
Revises: 0010_logins
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_import_details"
down_revision = "0010_logins"
branch_labels = None
depends_on = None

COLUMNS = (
    ("source_origin", sa.String(16)),
    ("database", sa.Text),
    ("platform", sa.Text),
    ("searched", sa.String(10)),
    ("query", sa.Text),
    ("limits", sa.Text),
    ("source_type", sa.String(16)),
)


def upgrade() -> None:
    # SQLite adds columns in place; a batch keeps the two engines on one path.
    with op.batch_alter_table("imports") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
