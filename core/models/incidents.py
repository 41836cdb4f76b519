"""Problems found on patrol or reported by residents, their categories and their history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, UTCDateTime, Versioned, utcnow, uuid_pk

HANDLING_CLASSES = ("immediate", "reported", "committed")  # 即办 / 上报 / 承诺
STATUSES = ("open", "in_progress", "resolved", "closed", "rejected", "duplicate")
OPEN_STATUSES = ("open", "in_progress")
SOURCES = ("patrol", "patroller_sms", "resident_sms", "volunteer", "staff")
EVENT_KINDS = ("created", "note", "handled", "escalated", "acknowledged", "reassigned", "status_change",
               "deadline_alert")
CHANNELS = ("api", "device", "sms", "worker", "cli")


class Category(db.Model, TimestampMixin, Versioned):
    """A kind of pollution problem. `number` is what people type in an SMS; keywords are matched too."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    number: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(50), nullable=False)
    name_en: Mapped[str] = mapped_column(String(80), nullable=False)
    keywords: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Incident(db.Model, TimestampMixin, Versioned):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_open_deadline", "status", "deadline"),
        Index("ix_incidents_responsible_status", "responsible_area_id", "status"),
        Index("ix_incidents_reported_at", "reported_at", "id"),  # the dashboard's newest-first keyset pages
    )

    id: Mapped[str] = uuid_pk()
    ticket: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True, nullable=False)
    responsible_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), nullable=False)
    responsible_level: Mapped[str] = mapped_column(String(20), nullable=False, default="grid")
    location_text: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="staff")
    handling_class: Mapped[str] = mapped_column(String(20), nullable=False, default="reported")
    promised_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalation_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 挂牌督办
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    reporter_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    reporter_phone: Mapped[str | None] = mapped_column(String(20), index=True, nullable=True)
    patrol_id: Mapped[str | None] = mapped_column(ForeignKey("patrols.id"), nullable=True)
    duplicate_of_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)

    category = relationship("Category")
    area = relationship("Area", foreign_keys=[area_id])
    responsible_area = relationship("Area", foreign_keys=[responsible_area_id])
    reporter = relationship("Member")
    events: Mapped[list["IncidentEvent"]] = relationship(
        back_populates="incident", order_by="IncidentEvent.at")


class IncidentEvent(db.Model, Versioned):
    """Append-only history of an incident. Never updated once written."""

    __tablename__ = "incident_events"

    id: Mapped[str] = uuid_pk()
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="api")
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    from_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True)
    to_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="events")
    actor = relationship("Member")


class Counter(db.Model):
    """Named counters (ticket numbers). Incremented under a row lock so tickets never collide."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
