"""The dashboard's sign-ins, kept on the server so that signing out ends one for good."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import UTCDateTime, utcnow


class DashboardSession(db.Model):
    """One browser's sign-in. The browser's (signed) cookie holds a random key; only its SHA-256 is stored,
    like tokens. Signing out sets `ended_at`, so a copy of the cookie saved before opens nothing."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the browser's key
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
