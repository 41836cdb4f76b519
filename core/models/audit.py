"""Who changed what, through the API or the CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import BigIntKey, UTCDateTime, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # api | cli | sms | device | worker
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(60), nullable=False)  # e.g. "area.create", "incident.escalate"
    entity: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    entity_id: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    summary: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
