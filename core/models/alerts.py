"""Tables of the background rules (named worker_* after the feature that first kept them).

`PatrolWindow` materialises each grid's due windows a day ahead, so the missed-patrol scan reads only the
windows whose check time has come (index on state + next_check_at) instead of walking every grid.
`OverdueTrack` does the same for incidents past their deadline. `WorkerAlert` is the alert bookkeeping:
one row per deterministic key (the SMS outbox idempotency key), also holding alerts kept back in quiet
hours. `PeriodicRun` records each periodic job's last run for the health view, `WeeklyReport` the
stored Thursday reports.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, JSON, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db
from core.models.base import BigIntKey, UTCDateTime, utcnow

WINDOW_STATES = ("open", "patrolled", "missed", "late", "acknowledged", "escalated")
ALERT_STATUSES = ("held", "pending", "queued", "cancelled")
TRACK_STAGES = ("alerted", "escalated", "digest", "resolved", "acknowledged")


class PatrolWindow(db.Model):
    __tablename__ = "worker_patrol_windows"
    __table_args__ = (
        UniqueConstraint("area_id", "starts_at", "site", name="uq_worker_patrol_windows_slot"),
        # Partial: only windows still to be judged are in it, so it stays small however long the history.
        Index("ix_worker_patrol_windows_due", "state", "next_check_at",
              postgresql_where=text("state IN ('open', 'missed')"), sqlite_where=text("state IN ('open', 'missed')")),
        Index("ix_worker_patrol_windows_local_date", "local_date"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    local_date: Mapped[date] = mapped_column(Date, nullable=False)
    label: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="daily")
    heightened: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    site: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    patrol_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OverdueTrack(db.Model):
    """One incident past one deadline. A new deadline (after escalation) starts a new track."""

    __tablename__ = "worker_overdue_tracks"
    __table_args__ = (
        UniqueConstraint("incident_id", "deadline", name="uq_worker_overdue_tracks_incident_deadline"),
        Index("ix_worker_overdue_tracks_due", "stage", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), nullable=False)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), nullable=False)
    level: Mapped[str] = mapped_column(String(20), nullable=False)
    stage: Mapped[str] = mapped_column(String(20), nullable=False, default="alerted")
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WorkerAlert(db.Model):
    __tablename__ = "worker_alerts"
    __table_args__ = (
        Index("ix_worker_alerts_held", "status", "hold_until"),
        Index("ix_worker_alerts_member_created", "member_id", "created_at"),
        Index("ix_worker_alerts_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True, nullable=False)
    rule: Mapped[str] = mapped_column(String(30), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(20), nullable=False)  # window | incident | report
    subject_id: Mapped[str] = mapped_column(String(40), nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outbox_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Named variables for template SMS providers (core.domain.alert_texts.template_params); None for free text.
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class PeriodicRun(db.Model):
    """The last run of each periodic job, and the period it claimed (the embedded timer's SET NX)."""

    __tablename__ = "worker_periodic_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    claimed_period: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_now: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_status: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_summary: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class WeeklyReport(db.Model):
    __tablename__ = "worker_weekly_reports"
    __table_args__ = (UniqueConstraint("area_id", "week_start", name="uq_worker_weekly_reports_area_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), nullable=False)  # the sub-district
    week_start: Mapped[date] = mapped_column(Date, nullable=False)
    week_end: Mapped[date] = mapped_column(Date, nullable=False)  # exclusive
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
