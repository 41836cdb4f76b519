"""People, their roles in areas, their devices and their API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import TimestampMixin, UTCDateTime, Versioned, new_uuid, utcnow

ROLES = ("patroller", "grid_leader", "community_leader", "subdistrict_leader", "district_leader",
         "supervisor", "admin", "volunteer")
LEADER_ROLES = ("grid_leader", "community_leader", "subdistrict_leader", "district_leader")
# Which area kind each leader role belongs to; a leader role on another kind of area is refused.
LEADER_ROLE_FOR_KIND = {"grid": "grid_leader", "community": "community_leader",
                        "subdistrict": "subdistrict_leader", "district": "district_leader"}
STAFF_ROLES = LEADER_ROLES + ("supervisor", "admin")


class Member(db.Model, TimestampMixin, Versioned):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)  # E.164
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="zh")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Optional PIN an office may require after staff SMS commands (`办结 100002 已熄灭 *4821`): caller ids
    # can be spoofed by carriers, a PIN cannot be read off the number. Hashed like a password.
    sms_pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)

    assignments: Mapped[list["Assignment"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="Assignment.id")
    devices: Mapped[list["Device"]] = relationship(back_populates="member")

    @property
    def roles(self) -> list[str]:
        return sorted({a.role for a in self.assignments})

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.name}>"


class Assignment(db.Model, TimestampMixin):
    """A member's role in an area. Leaders are ordered by `rank`: 1 is 组长 (alerted first), 2+ 副组长.

    An admin assignment with no area is a global admin (the first operator of a fresh install).
    """

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("member_id", "area_id", "role", name="uq_assignment_member_area_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True, nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True, nullable=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    member: Mapped[Member] = relationship(back_populates="assignments")
    area = relationship("Area")


class Device(db.Model, TimestampMixin):
    """A patroller's phone. Its bearer token is shown once at registration; only the hash is kept."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    token_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    member: Mapped[Member] = relationship(back_populates="devices")


class StaffToken(db.Model, TimestampMixin):
    """An API token for a person at a desk (leader, supervisor, admin). Hashed like device tokens."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    token_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=utcnow)

    member: Mapped[Member] = relationship()
