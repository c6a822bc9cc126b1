"""Rounds of a living review: each update's searches and imports make a round of their own.

Revision ID: 0017_rounds
Revises: 0016_record_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_rounds"
down_revision = "0016_record_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("windows", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    # Everything stored before the first update belongs to round 1.
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("round", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("stage_closures") as batch:
        batch.add_column(sa.Column("round", sa.Integer, nullable=False, server_default="1"))


def _drop_round(table: str) -> None:
    # SQLite drops the column in place (3.35+): a batch copy of ``imports`` would have to drop
    # a table that records refer to, which the foreign keys forbid.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE {table} DROP COLUMN "round"')
    else:
        op.drop_column(table, "round")


def downgrade() -> None:
    _drop_round("stage_closures")
    _drop_round("imports")
    op.drop_table("rounds")
