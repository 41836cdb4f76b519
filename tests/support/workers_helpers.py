"""Builders and readers shared by the workers tests (schedules, patrols, incidents, alerts)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.models import Category, Patrol, PatrolSchedule
from core.models.alerts import OverdueTrack, PatrolWindow, WorkerAlert

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAILY = [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]


def local(y, m, d, hh=0, mm=0) -> datetime:
    """A Beijing wall-clock time as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(timezone.utc)


def add_schedule(session, area, windows=None, **extra) -> PatrolSchedule:
    schedule = PatrolSchedule(area_id=area.id, windows=windows if windows is not None else DAILY, **extra)
    session.add(schedule)
    session.commit()
    return schedule


def add_patrol(session, member, area, started_at: datetime, minutes: int = 30, **extra) -> Patrol:
    patrol = Patrol(member_id=member.id, area_id=area.id, started_at=started_at,
                    ended_at=started_at + timedelta(minutes=minutes), source=extra.pop("source", "device"), **extra)
    session.add(patrol)
    session.commit()
    return patrol


def category(session, code: str) -> Category:
    return session.scalar(select(Category).where(Category.code == code))


def alerts(session, **filters) -> list[WorkerAlert]:
    """The alerts recorded, after the in-process runner has delivered what the scans left pending."""
    from flask import current_app
    session.commit()
    current_app.extensions["gridpatrol.runner"].wait(timeout=30)
    session.expire_all()
    query = select(WorkerAlert).order_by(WorkerAlert.id)
    for name, value in filters.items():
        query = query.where(getattr(WorkerAlert, name) == value)
    return list(session.scalars(query))


def windows(session, area=None) -> list[PatrolWindow]:
    session.commit()
    session.expire_all()
    query = select(PatrolWindow).order_by(PatrolWindow.area_id, PatrolWindow.starts_at)
    if area is not None:
        query = query.where(PatrolWindow.area_id == area.id)
    return list(session.scalars(query))


def tracks(session) -> list[OverdueTrack]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(OverdueTrack).order_by(OverdueTrack.id)))


def day(y, m, d) -> date:
    return date(y, m, d)


def load_world(session, world):
    """The world's areas and members, attached to this session (the fixture's own session is closed)."""
    from types import SimpleNamespace
    from core.models import Area, Member
    loaded = SimpleNamespace(ids=world.ids)
    for key, value in world.ids.items():
        if key in ("district", "subdistrict", "c1", "c2", "g11", "g12", "g21"):
            setattr(loaded, key, session.get(Area, value))
        elif key not in ("device", "device2"):
            setattr(loaded, key, session.get(Member, value))
    return loaded


def call(client, method: str, url: str, token: str, **kwargs):
    """A request as the token's holder. Tests holding an app context share `g` across requests, so the
    principal cached there by the previous request is dropped first."""
    from flask import g
    g.pop("principal", None)
    return getattr(client, method)(url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
