"""Patrol app: one-time pairing codes that a phone exchanges for its device token.

Revision ID: 0008_patrol_app
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_patrol_app"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pairing_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_by_label", sa.String(length=100), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("redeemed_at", TZ, nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_pairing_codes_member_id_members"),
        sa.ForeignKeyConstraint(["issued_by_id"], ["members.id"], name="fk_pairing_codes_issued_by_id_members"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_pairing_codes_device_id_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_pairing_codes"),
        sa.UniqueConstraint("code_hash", name="uq_pairing_codes_code_hash"),
    )
    op.create_index("ix_pairing_codes_member_id", "pairing_codes", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_pairing_codes_member_id", table_name="pairing_codes")
    op.drop_table("pairing_codes")
