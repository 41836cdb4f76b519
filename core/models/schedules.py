"""When grids must be patrolled. A grid without its own schedule inherits its nearest ancestor's."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, JSON, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, Versioned

DEFAULT_WINDOWS = [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]


class PatrolSchedule(db.Model, TimestampMixin, Versioned):
    """Daily windows plus heightened periods and key sites.

    `windows`: [{"start": "08:00", "end": "12:00"}] in the area's local time; an end before the start
    runs past midnight (night checks). `heightened`: [{"name": "除夕", "lunar": "chuxi" | "spring_festival"
    | null, "dates": ["2027-02-05"], "windows": [...]}], whose windows are added on those dates.
    `key_sites`: [{"name": ..., "location": ..., "fixed_post": true}] — places that need a fixed post.
    """

    __tablename__ = "patrol_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="日常巡查")
    windows: Mapped[list] = mapped_column(JSON, nullable=False, default=lambda: list(DEFAULT_WINDOWS))
    active_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    active_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    heightened: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    key_sites: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    area = relationship("Area")
