"""One role model: web memberships merged into the review team, roles owner/reviewer/viewer.

The review team (``reviewers``: lead, reviewer, arbiter) and the web app's memberships
(owner, reviewer, viewer) were two role systems. They become one: leads are owners, arbiters
reviewers; every web user is a member with their web role; and everyone who already decided,
resolved a conflict, closed a stage or rated risk of bias is registered as a reviewer, so that
an older project keeps its people once decisions from non-members are refused. Each
registration is written to the audit log.

Revision ID: 0009_roles
Revises: 0005_workflow, 0006_extraction, 0007_fulltext, 0008_web
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009_roles"
down_revision = ("0006_extraction", "0007_fulltext", "0008_web")
branch_labels = None
depends_on = None

ACTOR = "metasift upgrade"


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    reviewers = sa.table(
        "reviewers",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("role", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("previous", sa.JSON),
        sa.column("value", sa.JSON),
        sa.column("note", sa.Text),
    )
    roles = dict(conn.execute(sa.select(reviewers.c.name, reviewers.c.role)).all())

    def register(name: str, role: str, why: str) -> None:
        previous = roles.get(name)
        if previous == role:
            return
        if previous is None:
            conn.execute(reviewers.insert().values(name=name, role=role, created_at=now))
        else:
            conn.execute(reviewers.update().where(reviewers.c.name == name).values(role=role))
        conn.execute(
            audit.insert().values(
                at=now,
                actor=ACTOR,
                action="reviewer.add" if previous is None else "reviewer.role",
                entity="reviewer",
                entity_id=name,
                previous=None if previous is None else {"role": previous},
                value={"role": role},
                note=why,
            )
        )
        roles[name] = role

    for name, role in list(roles.items()):
        new = {"lead": "owner", "arbiter": "reviewer"}.get(role)
        if new:
            register(name, new, f"one role model: {role} becomes {new}")
    web = conn.execute(
        sa.text("SELECT u.name, m.role FROM users u JOIN memberships m ON m.user_id = u.id")
    ).all()
    for name, role in web:
        register(name, role, "one role model: the web user's role in the project")
    for table, column in (
        ("decisions", "reviewer"),
        ("resolutions", "resolved_by"),
        ("stage_closures", "closed_by"),
        ("rob_judgements", "reviewer"),
    ):
        names = conn.execute(sa.text(f"SELECT DISTINCT {column} FROM {table}")).scalars()
        for name in sorted(n for n in names if n):
            if name not in roles:
                register(name, "reviewer", f"decided before membership was required ({table})")
    op.drop_table("memberships")


def downgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
