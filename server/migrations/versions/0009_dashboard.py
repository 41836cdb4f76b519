"""Dashboard: an index on incidents (reported_at, id) for the problems list's newest-first keyset pages.

Revision ID: 0009_dashboard
Revises: 0001_foundation
"""
from alembic import op

revision = "0009_dashboard"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incidents_reported_at", "incidents", ["reported_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_reported_at", table_name="incidents")
