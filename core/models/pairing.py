"""One-time pairing codes: how a phone gets its device token without anyone typing a token."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, UTCDateTime


class PairingCode(db.Model, TimestampMixin):
    """A short code for one member, valid 24 h, redeemable once. Only the code's SHA-256 is stored."""

    __tablename__ = "pairing_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    issued_by_label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), nullable=True)

    member = relationship("Member", foreign_keys=[member_id])
