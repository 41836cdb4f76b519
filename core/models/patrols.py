"""A patrol walked by a patroller in one grid, from a device or by SMS."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, UTCDateTime, Versioned, uuid_pk

PATROL_OUTCOMES = ("all_clear", "problems_found")
PATROL_SOURCES = ("device", "sms", "staff")


class Patrol(db.Model, TimestampMixin, Versioned):
    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_area_started", "area_id", "started_at"),)

    id: Mapped[str] = uuid_pk()
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    checkpoints: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="all_clear")
    problem_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="device")
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    member = relationship("Member")
    area = relationship("Area")
