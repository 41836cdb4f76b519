"""The grid hierarchy: district → sub-district (一级) → community (二级) → grid (三级), any depth."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, Versioned

AREA_KINDS = ("district", "subdistrict", "community", "grid", "other")


class Area(db.Model, TimestampMixin, Versioned):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="grid")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True, nullable=True)
    # Materialised path "/1/5/23/" so a subtree is one indexed prefix query on every backend.
    path: Mapped[str] = mapped_column(String(500), index=True, nullable=False, default="/")
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    parent: Mapped["Area | None"] = relationship(remote_side="Area.id", back_populates="children")
    children: Mapped[list["Area"]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.kind}>"
