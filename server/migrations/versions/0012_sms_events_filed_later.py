"""sms webhook events keep the text they carried: the phone's webhook answers once the text is stored, and a
job files it (issue 13's webhook latency goal).

Revision ID: 0012_sms_events_filed_later
Revises: 0010_sms_providers
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_sms_events_filed_later"
down_revision = "0010_sms_providers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_webhook_events") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    op.create_index("ix_sms_webhook_events_unfiled", "sms_webhook_events", ["event", "inbound_id"])


def downgrade() -> None:
    op.drop_index("ix_sms_webhook_events_unfiled", table_name="sms_webhook_events")
    with op.batch_alter_table("sms_webhook_events") as batch:
        batch.drop_column("payload")
