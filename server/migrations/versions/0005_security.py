"""Security: atomic rate-limit counters and the optional SMS PIN of staff members.

Revision ID: 0005_security
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_security"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limits"),
    )
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("sms_pin_hash", sa.String(length=200), nullable=True))
    # Residents' numbers written into history before this release: masked like new ones (+86139****5678).
    op.execute("UPDATE incident_events SET actor_label = substr(actor_label, 1, 6) || '****' || "
               "substr(actor_label, length(actor_label) - 3) "
               "WHERE kind = 'created' AND actor_member_id IS NULL AND actor_label LIKE '+%' "
               "AND actor_label NOT LIKE '%*%' AND length(actor_label) > 7")


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("sms_pin_hash")
    op.drop_table("rate_limits")
