"""Security bookkeeping: atomic rate-limit counters (SMS inbound per sender, logins per phone)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import UTCDateTime


class RateLimit(db.Model):
    """One row per key (e.g. `sms:+86…`, `login:+86…`): the current fixed window and how many events it
    has seen. Incremented by one INSERT … ON CONFLICT DO UPDATE … RETURNING, so concurrent requests
    cannot all read "under the limit" at once (core/domain/ratelimit.py)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
