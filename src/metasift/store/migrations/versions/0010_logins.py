"""Login attempts, counted per account and per address for the login limits and the lockout.

Revision ID: 0010_logins
Revises: 0009_roles
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_logins"
down_revision = "0009_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
    )
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"])
    op.create_index("ix_login_attempts_account", "login_attempts", ["account"])
    op.create_index("ix_login_attempts_address", "login_attempts", ["address"])


def downgrade() -> None:
    op.drop_table("login_attempts")
