"""sms providers: which provider a message must leave through and its template variables, each provider's
state (heartbeat, last error, failover), and processed webhook event ids.

Revision ID: 0010_sms_providers
Revises: 0003_sms, 0004_workers (adds template variables to worker_alerts too)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.models.base import UTCDateTime

revision = "0010_sms_providers"
down_revision = ("0003_sms", "0004_workers")
branch_labels = None
depends_on = None

BigIntKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sms_outbound") as batch:
        batch.add_column(sa.Column("route", sa.String(20), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    with op.batch_alter_table("worker_alerts") as batch:
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    op.create_table(
        "sms_provider_state",
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("last_heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat", sa.JSON(), nullable=True),
        sa.Column("last_ok_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(20), nullable=True),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.Column("consecutive_down", sa.Integer(), nullable=False),
        sa.Column("down_since", UTCDateTime(), nullable=True),
        sa.Column("admin_notified_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("provider", name="pk_sms_provider_state"),
    )
    op.create_table(
        "sms_webhook_events",
        sa.Column("id", BigIntKey, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("inbound_id", BigIntKey, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_webhook_events"),
        sa.UniqueConstraint("provider", "event_id", name="uq_sms_webhook_events_provider_event"),
    )


def downgrade() -> None:
    op.drop_table("sms_webhook_events")
    op.drop_table("sms_provider_state")
    with op.batch_alter_table("worker_alerts") as batch:
        batch.drop_column("params")
    with op.batch_alter_table("sms_outbound") as batch:
        batch.drop_column("params")
        batch.drop_column("route")
