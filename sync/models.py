"""Tables of the sync feature: transaction counter and epoch, idempotency results, conflicts log,
tombstones of hard-deleted or never-seen records, and what each device last synced with."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import BigIntKey, UTCDateTime, utcnow


class SyncMeta(db.Model):
    """Named values: `epoch` (random per database; cursors from another database are refused),
    `purge_horizon` (highest version purged; older cursors must reset), `txn` (SQLite's
    transaction counter standing in for PostgreSQL's transaction id)."""

    __tablename__ = "sync_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    text: Mapped[str | None] = mapped_column(String(100), nullable=True)


class SyncOpResult(db.Model):
    """The result of every processed op, so a retried op returns it and changes nothing."""

    __tablename__ = "sync_op_results"

    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    op_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class SyncConflict(db.Model):
    """Pushed values that lost (to a newer clock, the state machine, append-only rules or a delete)."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_record", "collection", "record_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    device_id: Mapped[str] = mapped_column(String(36), nullable=False)
    op_id: Mapped[str] = mapped_column(String(64), nullable=False)
    collection: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    reason: Mapped[str] = mapped_column(String(30), nullable=False)
    hlc: Mapped[str] = mapped_column(String(80), nullable=False)
    pushed: Mapped[dict] = mapped_column(JSON, nullable=False)
    winning: Mapped[dict] = mapped_column(JSON, nullable=False)


class SyncTombstone(db.Model):
    """A record that is gone without a soft-deleted row: hard-deleted server-side (area_path kept so
    devices in scope hear of it) or deleted by a device before the server ever saw it (area_path NULL:
    nobody else holds it, but a late put for that id must not resurrect it)."""

    __tablename__ = "sync_tombstones"

    collection: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    area_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sync_origin: Mapped[str | None] = mapped_column(String(36), nullable=True)


class SyncDeviceState(db.Model):
    """The scope (area paths) each device last synced with, and the one before it, so a retried request
    after a scope change still gets its `removed` list."""

    __tablename__ = "sync_device_states"

    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope_hash: Mapped[str] = mapped_column(String(16), nullable=False)
    scope_paths: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    previous_scope_hash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    previous_scope_paths: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    last_sync_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
