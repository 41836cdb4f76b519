"""Column helpers and mixins shared by every table.

Reference data (areas, members, categories, schedules) uses integer keys; records that devices create
offline (patrols, incidents, incident events, sites, inspections) use client-generated UUID strings so
they can exist before the server has ever seen them.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer, JSON, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY, so big integer keys are plain integers there.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_uuid() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def uuid_pk() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_uuid)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Versioned:
    """A record that devices pull: `version` is assigned on every write (sync.versioning's flush hook).

    `field_clocks` keeps each field's hybrid logical clock for field-level last-writer-wins merges
    ({"_": clock of the whole record at creation, "<field>": clock of a later edit}; missing = zero);
    `deleted_at` makes a delete a tombstone that devices are told about; `sync_origin` is the device
    whose sync wrote the current state (NULL for server-side writes), so it is not sent back its own write.
    """

    version: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    field_clocks: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sync_origin: Mapped[str | None] = mapped_column(String(36), nullable=True)
