"""Checking a member's password, for every surface that does: the API's login, the dashboard's sign-in, the
dashboard's password page and the API's change of one's own password. One throttle, one audit trail.

Why one function: the dashboard had its own copy of the login check, without the per-phone row lock, and 48
concurrent sign-ins for one phone got 16 password checks where the API allowed 5; its password page checked
the current password with no limit at all (40 guesses in 6.5 s, then the right one). Now every check of a
phone's password first takes that phone's lock (core.domain.ratelimit.serialize), then counts the
failures of the last FAILURE_WINDOW — logins and current-password checks alike, since both are guesses at
the same secret — and refuses (429) at MAX_FAILURES, whatever the password.

    log_in(session, phone_text, password, *, region, channel) -> Member
        Unauthorized `bad_credentials` (one answer whether the phone, the member or the password is wrong)
        or TooManyFailures (429 `rate_limited`).
    confirm_password(session, member, password, *, channel) -> None
        before a change of one's own password: Invalid on `current_password`, or TooManyFailures.

A failure is audited (`auth.login_failed` / `auth.password_check_failed`) and COMMITTED here, before the
error is raised: the caller's error handling rolls its session back, and a failure that was not kept would
not count; committing also releases the lock for the next attempt. A success leaves the transaction to
the caller (which issues its token or session and commits).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain import ratelimit
from core.domain.audit import record as audit_record
from core.domain.errors import DomainError, Invalid, Unauthorized
from core.domain.members import check_password, member_by_phone
from core.domain.phones import mask_phone, try_normalize_phone
from core.models import AuditLog, Member, utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILED, PASSWORD_CHECK_FAILED = "auth.login_failed", "auth.password_check_failed"


class TooManyFailures(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self):
        super().__init__("too many failed logins for this phone; try again later",
                         details={"retry_after_seconds": int(FAILURE_WINDOW.total_seconds())})


def recent_failures(session: Session, phone: str, now: datetime | None = None) -> int:
    since = (now or utcnow()) - FAILURE_WINDOW
    return session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.in_((LOGIN_FAILED, PASSWORD_CHECK_FAILED)), AuditLog.entity == "phone",
        AuditLog.entity_id == phone, AuditLog.at >= since))


def _take_turn(session: Session, phone: str, now: datetime | None) -> None:
    """Wait for this phone's earlier attempts to finish (row lock until commit), then judge the count."""
    ratelimit.serialize(session, f"login:{phone}", now)
    if recent_failures(session, phone, now) >= MAX_FAILURES:
        session.commit()  # nothing to keep; ends the lock at once
        raise TooManyFailures()


def _failed(session: Session, action: str, phone: str, channel: str, actor: Member | None = None) -> None:
    audit_record(session, action, channel=channel, actor=actor, actor_label="" if actor else mask_phone(phone),
                 entity="phone", entity_id=phone)
    session.commit()


def log_in(session: Session, phone_text: str, password: str, *, region: str, channel: str,
           now: datetime | None = None) -> Member:
    phone = try_normalize_phone(phone_text, region) if phone_text else None
    if phone:
        _take_turn(session, phone, now)
    member = member_by_phone(session, phone) if phone else None
    if check_password(member, password):
        return member
    if phone:
        _failed(session, LOGIN_FAILED, phone, channel)
    raise Unauthorized("phone or password is wrong", code="bad_credentials")


def confirm_password(session: Session, member: Member, password: str, *, channel: str,
                     now: datetime | None = None) -> None:
    """The member's current password, before she changes it: a session or token left open on a desk must not
    become a way to guess it."""
    _take_turn(session, member.phone, now)
    if check_password(member, password):
        return
    _failed(session, PASSWORD_CHECK_FAILED, member.phone, channel, actor=member)
    raise Invalid("the current password is wrong", details={"current_password": ["Wrong or missing."]})
