"""Dashboard sign-ins kept on the server (web.dashboard.models.DashboardSession).

Why: Flask's cookie session is signed, not stored, so signing out used to only clear the browser's copy; a
cookie saved before 退出 still opened every page for its 31 days. Now the cookie carries a random key, the
server keeps the key's SHA-256 with the member and an expiry, and signing out ends the row: every copy of
that cookie stops working at once. (Changing a password still ends every other browser's sign-in through
the password fingerprint in web.dashboard.common.)

    open_session(db_session, member, lifetime) -> key     the caller commits
    member_of(db_session, key) -> Member | None           None when unknown, ended or expired
    end_session(db_session, key)                          idempotent; the caller commits
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from core.models import Member, utcnow
from web.dashboard.models import DashboardSession


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(db_session: Session, member: Member, lifetime: timedelta, now: datetime | None = None) -> str:
    now = now or utcnow()
    # the member's finished sign-ins are of no further use: the table holds live ones (and the audit log the rest)
    db_session.execute(delete(DashboardSession).where(
        DashboardSession.member_id == member.id,
        or_(DashboardSession.expires_at <= now, DashboardSession.ended_at.isnot(None))))
    key = secrets.token_urlsafe(32)
    db_session.add(DashboardSession(id=_hash(key), member_id=member.id, created_at=now, expires_at=now + lifetime))
    return key


def member_of(db_session: Session, key, now: datetime | None = None) -> Member | None:
    if not isinstance(key, str) or not key:
        return None
    row = db_session.get(DashboardSession, _hash(key))
    if row is None or row.ended_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return db_session.get(Member, row.member_id)


def end_session(db_session: Session, key, now: datetime | None = None) -> None:
    if isinstance(key, str) and key:
        db_session.execute(update(DashboardSession).where(DashboardSession.id == _hash(key),
                                                          DashboardSession.ended_at.is_(None))
                           .values(ended_at=now or utcnow()))
