"""One inbound text: store it raw, decide whether to act (rate limit, opt-out), act, remember the reply.

The row is inserted (and flushed) BEFORE anything else so that a retried webhook with the same MessageSid
collides on the unique column: it waits for the first request's transaction and then replays its reply,
so the command runs once. Whatever goes wrong inside a command, the text stays stored with its outcome.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from server.domain.access import Principal
from server.domain.phones import mask_phone, try_normalize_phone
from server.domain.errors import DomainError
from server.models import Assignment, Member, utcnow
from server.models.base import UTCDateTime
from sms import templates as t
from sms.commands import Context, Outcome, catalogue, dispatch
from sms.models import InboundMessage, SmsOptOut
from sms.parser import parse

log = logging.getLogger(__name__)
ALWAYS_ANSWERED = {"stop", "start"}  # honoured even when rate-limited or opted out


def clean_text(text: str, limit: int | None = None) -> str:
    text = (text or "").replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    return text[:limit] if limit else text


def find_inbound(session: Session, message_sid: str) -> InboundMessage | None:
    return session.scalar(select(InboundMessage).where(InboundMessage.message_sid == message_sid))


def _preflight_statement():
    """Built once: constructing a four-subquery SELECT costs more CPU than running it."""
    sid, sender, since = bindparam("sid"), bindparam("sender"), bindparam("since", type_=UTCDateTime())
    seen = select(InboundMessage.id).where(InboundMessage.message_sid == sid).limit(1).scalar_subquery()
    recent = select(func.count(InboundMessage.id)).where(
        InboundMessage.sender == sender, InboundMessage.received_at > since).scalar_subquery()
    opted = select(SmsOptOut.phone).where(SmsOptOut.phone == sender).limit(1).scalar_subquery()
    member = select(Member.id).where(Member.phone == sender, Member.active.is_(True)).limit(1).scalar_subquery()
    return select(seen, recent, opted, member)


PREFLIGHT = _preflight_statement()
INSERT_INBOUND = InboundMessage.__table__.insert().returning(InboundMessage.__table__.c.id)


def preflight(session: Session, message_sid: str, sender: str, now: datetime) -> Preflight:
    """Everything the gateway must know before acting, in ONE round trip: was this MessageSid seen,
    how many texts came from this sender in the last hour, is it opted out, is it a member."""
    row = session.execute(PREFLIGHT, {"sid": message_sid, "sender": sender,
                                      "since": now - timedelta(hours=1)}).one()
    return Preflight(seen_id=row[0], recent=row[1] or 0, opted_out=row[2] is not None, member_id=row[3])


@dataclass
class Preflight:
    seen_id: int | None
    recent: int
    opted_out: bool
    member_id: int | None


def receive(session: Session, *, message_sid: str, sender: str, body: str, to: str = "",
            now: datetime | None = None, config: dict | None = None) -> InboundMessage:
    """Process one text once. The caller commits.

    The inbound row is inserted last, in the same transaction as the command's effects: a concurrent
    retry of the same MessageSid fails on the unique column at flush/commit, its effects roll back with
    it, and the caller (which catches IntegrityError) answers with the winner's stored reply.
    """
    config = config or {}
    now = now or utcnow()
    phone = try_normalize_phone(sender or "", config.get("GRIDPATROL_PHONE_REGION", "CN"))
    row = InboundMessage(message_sid=clean_text(message_sid, 64),
                         sender=phone or clean_text(sender, 32) or "unknown", to_number=clean_text(to, 32),
                         body=clean_text(body, 4000), received_at=now, outcome="ok")
    facts = preflight(session, row.message_sid, row.sender, now)
    if facts.seen_id is not None:
        return session.get(InboundMessage, facts.seen_id)
    member = session.get(Member, facts.member_id, options=[
        joinedload(Member.assignments).joinedload(Assignment.area)]) if facts.member_id and phone else None
    parsed = parse(row.body, catalogue(session))
    ctx = Context(session=session, sender=row.sender, member=member, parsed=parsed, now=now, config=config,
                  principal=Principal.for_member(member) if member else None)
    language = ctx.lang
    outcome = _decide(session, ctx, facts, config)
    row.member_id = facts.member_id if member else None
    row.normalized = parsed.normalized[:4000]
    row.command = parsed.command
    row.language = language
    row.reply = outcome.reply
    row.outcome = outcome.outcome
    row.error_code = outcome.error_code
    row.result = {"parsed": parsed.as_dict(), **outcome.result}
    row.area_id = outcome.area_id
    # A Core insert: the row is written once and never changed, so the unit of work has nothing to track.
    columns = {c.key: getattr(row, c.key) for c in InboundMessage.__table__.columns if c.key != "id"}
    row.id = session.execute(INSERT_INBOUND, columns).scalar_one()
    log.info("sms in %s from %s: %s/%s", row.message_sid, mask_phone(row.sender), row.command, row.outcome)
    return row


def _decide(session: Session, ctx: Context, facts: Preflight, config: dict) -> Outcome:
    command = ctx.parsed.command
    if command not in ALWAYS_ANSWERED:
        limit = config.get("SMS_RATE_LIMIT_PER_HOUR", 20)
        if limit and facts.recent >= limit:
            # One polite notice per hour, then silence. The texts are still stored.
            noticed = session.scalar(select(InboundMessage.id).where(
                InboundMessage.sender == ctx.sender, InboundMessage.outcome == "rate_limited",
                InboundMessage.reply != "", InboundMessage.received_at > ctx.now - timedelta(hours=1)).limit(1))
            reply = "" if noticed else t.render("rate_limited", ctx.lang)
            return Outcome(reply, outcome="rate_limited", error_code="rate_limited")
    outcome = _run(session, ctx)
    if command not in ALWAYS_ANSWERED and facts.opted_out:
        outcome.result["suppressed_reply"] = outcome.reply
        outcome.reply = ""  # an opted-out number gets nothing but the opt-out/in confirmation
    return outcome


def _run(session: Session, ctx: Context) -> Outcome:
    """Run the command. If it fails half-way, roll its writes back; the text is still stored (the row is
    added after this) with the error as its outcome. No savepoint on the happy path: it costs two
    round trips per text, and failures are rare."""
    lang = ctx.lang
    for attempt in (1, 2):
        try:
            outcome = dispatch(ctx)
            session.flush()
            return outcome
        except DomainError as exc:
            session.rollback()
            log.info("sms command %s refused: %s", ctx.parsed.command, exc)
            return Outcome(t.render("system_error", lang), outcome="error", error_code=exc.code,
                           result={"message": exc.message})
        except IntegrityError:
            session.rollback()  # e.g. the device synced the same record id a moment ago: go again once
            if attempt == 2:
                return Outcome(t.render("system_error", lang), outcome="error", error_code="conflict")
        except Exception as exc:  # noqa: BLE001 - the sender still gets an answer, the text is kept
            session.rollback()
            log.exception("sms command %s failed", ctx.parsed.command)
            return Outcome(t.render("system_error", lang), outcome="error", error_code="internal",
                           result={"exception": type(exc).__name__})
    raise AssertionError("unreachable")  # pragma: no cover
