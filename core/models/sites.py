"""The ledger (台账) of pollution-source points, e.g. loose-coal users, and their inspections."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, UTCDateTime, Versioned, utcnow, uuid_pk

SITE_KINDS = ("coal_user", "construction", "burning_point", "restaurant", "industrial", "key_site", "other")
SITE_STATUSES = ("identified", "rectified_gas", "rectified_electric", "rectified_clean_coal", "cleared")


class Site(db.Model, TimestampMixin, Versioned):
    __tablename__ = "sites"

    id: Mapped[str] = uuid_pk()
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="coal_user")
    stove_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(30), nullable=False, default="identified")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    area = relationship("Area")
    inspections: Mapped[list["SiteInspection"]] = relationship(back_populates="site", order_by="SiteInspection.at")


class SiteInspection(db.Model, Versioned):
    __tablename__ = "site_inspections"

    id: Mapped[str] = uuid_pk()
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True, nullable=False)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    status_after: Mapped[str] = mapped_column(String(30), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    site: Mapped[Site] = relationship(back_populates="inspections")
