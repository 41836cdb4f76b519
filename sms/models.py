"""Tables of the sms feature: the outbox, the raw inbound log and the opt-out list.

The outbox row is the single source of truth for "was this sent?": its idempotency `key` is unique, so a
worker that runs twice, or two workers that race, cannot create a second message for the same alert.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import BigIntKey, TimestampMixin, UTCDateTime, new_uuid, utcnow

# queued → sending → sent → delivered / undelivered / failed; the rest are deliberate non-sends.
OUTBOUND_STATES = ("queued", "sending", "sent", "delivered", "undelivered", "failed",
                   "opted_out", "duplicate", "expired", "invalid_number")
PENDING_STATES = ("queued", "sending")
FINAL_STATES = tuple(s for s in OUTBOUND_STATES if s not in PENDING_STATES)
INBOUND_OUTCOMES = ("ok", "error", "not_permitted", "rate_limited", "opted_out", "opted_in", "help", "empty")


def new_reference() -> str:
    return new_uuid().replace("-", "")


class OutboundMessage(db.Model, TimestampMixin):
    __tablename__ = "sms_outbound"
    __table_args__ = (
        Index("ix_sms_outbound_state_next", "state", "next_attempt_at"),
        Index("ix_sms_outbound_to_created", "to_number", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    # Put on the provider request (status-callback ?ref=) so a lost answer can be found again.
    reference: Mapped[str] = mapped_column(String(32), unique=True, nullable=False, default=new_reference)
    to_number: Mapped[str] = mapped_column(String(32), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(String(40), nullable=False, default="alert")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True, nullable=True)
    # The area the text is about (an alert's grid): decides which leaders see it in the message log.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True, nullable=True)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    provider: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    encoding: Mapped[str] = mapped_column(String(8), nullable=False, default="GSM-7")
    segments: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # One entry per attempt / callback: {"at", "event", "sid", "code", ...} for whoever triages it.
    history: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # The provider this message MUST leave through (a reply goes back the way its text came in); None lets
    # the router choose (alerts: the alerts provider, failing over). `provider` records who sent it.
    route: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Named template variables for template providers (Aliyun); free-text providers send `body`.
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    @property
    def to(self) -> str:
        return self.to_number

    def note(self, event: str, at: datetime | None = None, **data) -> None:
        entry = {"at": (at or utcnow()).isoformat(), "event": event}
        entry.update({k: v for k, v in data.items() if v is not None})
        self.history = [*(self.history or []), entry]  # reassign: JSON columns do not track mutation

    def __repr__(self) -> str:
        return f"<OutboundMessage {self.id} {self.key} {self.state}>"


class InboundMessage(db.Model):
    """Every text we received, verbatim, with what we made of it and what we answered."""

    __tablename__ = "sms_inbound"
    __table_args__ = (Index("ix_sms_inbound_sender_received", "sender", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    sender: Mapped[str] = mapped_column(String(32), nullable=False)  # E.164 when it parses, else raw
    to_number: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    normalized: Mapped[str] = mapped_column(Text, nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True, nullable=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True, nullable=True)
    command: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="ok")
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    result: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    reply: Mapped[str] = mapped_column(Text, nullable=False, default="")
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="zh")

    def __repr__(self) -> str:
        return f"<InboundMessage {self.id} {self.command} {self.outcome}>"


class SmsOptOut(db.Model):
    """A number that texted 退订/STOP (or that the provider reports as unsubscribed: error 21610)."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="keyword")
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class SmsProviderState(db.Model):
    """How each configured provider is doing: the Android phone's last heartbeat, the last error, and
    whether repeated provider_down errors took it out of the alert rotation (and an admin was told)."""

    __tablename__ = "sms_provider_state"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consecutive_down: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    admin_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SmsWebhookEvent(db.Model):
    """Webhook deliveries already accepted, by the provider's event id: a retried webhook is answered
    without doing anything twice. A status or heartbeat is applied in the same transaction; a text
    (`payload` holds it) is filed by a job afterwards, and `inbound_id` set once it is: a row whose text
    has no `inbound_id` yet is work the sweeper hands out again (sms.inbound.file_event_job)."""

    __tablename__ = "sms_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_sms_webhook_events_provider_event"),
                      Index("ix_sms_webhook_events_unfiled", "event", "inbound_id"))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    inbound_id: Mapped[int | None] = mapped_column(BigIntKey, nullable=True)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)


# The understanding sub-feature's tables (lexicon, gazetteer, triage) belong to the SMS feature's metadata too:
# whoever loads the SMS models (init_app, Alembic's env) loads them.
import sms.understanding.models  # noqa: E402,F401
