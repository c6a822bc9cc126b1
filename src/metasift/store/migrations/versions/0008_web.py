"""Web app: users, their role in the project, sessions, screening assignments.

Revision ID: 0008_web
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_web"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'reviewer', 'viewer')", name="ck_memberships_role"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("rank", sa.Integer),
        sa.Column("model_run_id", sa.Integer),
        sa.UniqueConstraint("record_id", "stage", "slot", name="uq_assignments_slot"),
        sa.UniqueConstraint("record_id", "stage", "reviewer", name="uq_assignments_reviewer"),
        sa.CheckConstraint("state IN ('leased', 'decided')", name="ck_assignments_state"),
    )
    op.create_index("ix_assignments_reviewer", "assignments", ["stage", "reviewer", "state"])
    op.create_index("ix_assignments_state", "assignments", ["stage", "state", "expires_at"])


def downgrade() -> None:
    op.drop_table("assignments")
    op.drop_table("web_sessions")
    op.drop_table("memberships")
    op.drop_table("users")
