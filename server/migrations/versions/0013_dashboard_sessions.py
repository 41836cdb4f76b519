"""Dashboard sign-ins kept on the server: signing out ends a session for good (a saved cookie opens nothing).

Revision ID: 0013_dashboard_sessions
Revises: 0009_dashboard
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_dashboard_sessions"
down_revision = "0009_dashboard"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_dashboard_sessions_member_id_members"),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_sessions"),
    )
    op.create_index("ix_dashboard_sessions_member_id", "dashboard_sessions", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_member_id", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
