"""sms: outbox, inbound log, opt-outs

Revision ID: 0003_sms
Revises: 0001_foundation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.models.base import UTCDateTime

revision = "0003_sms"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

BigIntKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_outbound",
        sa.Column("id", BigIntKey, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("to_number", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("provider_sid", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(20), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sending_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_outbound"),
        sa.UniqueConstraint("key", name="uq_sms_outbound_key"),
        sa.UniqueConstraint("reference", name="uq_sms_outbound_reference"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_sms_outbound_member_id_members"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_sms_outbound_area_id_areas"),
    )
    op.create_index("ix_sms_outbound_area_id", "sms_outbound", ["area_id"])
    op.create_index("ix_sms_outbound_member_id", "sms_outbound", ["member_id"])
    op.create_index("ix_sms_outbound_provider_sid", "sms_outbound", ["provider_sid"])
    op.create_index("ix_sms_outbound_state_next", "sms_outbound", ["state", "next_attempt_at"])
    op.create_index("ix_sms_outbound_to_created", "sms_outbound", ["to_number", "created_at"])

    op.create_table(
        "sms_inbound",
        sa.Column("id", BigIntKey, autoincrement=True, nullable=False),
        sa.Column("message_sid", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("to_number", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("command", sa.String(20), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error_code", sa.String(40), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_inbound"),
        sa.UniqueConstraint("message_sid", name="uq_sms_inbound_message_sid"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_sms_inbound_member_id_members"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_sms_inbound_area_id_areas"),
    )
    op.create_index("ix_sms_inbound_received_at", "sms_inbound", ["received_at"])
    op.create_index("ix_sms_inbound_area_id", "sms_inbound", ["area_id"])
    op.create_index("ix_sms_inbound_member_id", "sms_inbound", ["member_id"])
    op.create_index("ix_sms_inbound_sender_received", "sms_inbound", ["sender", "received_at"])

    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("opted_out_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name="pk_sms_opt_outs"),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
    for name in ("ix_sms_inbound_sender_received", "ix_sms_inbound_member_id", "ix_sms_inbound_area_id",
                 "ix_sms_inbound_received_at"):
        op.drop_index(name, table_name="sms_inbound")
    op.drop_table("sms_inbound")
    for name in ("ix_sms_outbound_to_created", "ix_sms_outbound_state_next", "ix_sms_outbound_provider_sid",
                 "ix_sms_outbound_member_id", "ix_sms_outbound_area_id"):
        op.drop_index(name, table_name="sms_outbound")
    op.drop_table("sms_outbound")
