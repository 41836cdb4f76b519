"""One inbound text: store it raw, decide whether to act (rate limit, opt-out), act, remember the reply.

The row is inserted (and flushed) BEFORE anything else so that a retried webhook with the same MessageSid
collides on the unique column: it waits for the first request's transaction and then replays its reply,
so the command runs once. Whatever goes wrong inside a command, the text stays stored with its outcome.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from core.domain import ratelimit
from core.domain.access import Principal
from core.domain.phones import mask_phone, try_normalize_phone
from core.domain.errors import DomainError
from core.models import Assignment, Member, utcnow
from core.models.base import UTCDateTime
from sms import templates as t
from core.jobs.context import job_app, job_session
from core.jobs.runner import enqueue_after_commit, get_runner
from sms import routing
from sms.commands import Context, Outcome, dispatch, read_text
from sms.models import InboundMessage, SmsOptOut, SmsWebhookEvent
from sms.delivery import apply_status_callback
from sms.outbox import queue_message
from sms.pin import mask_pin, seal, split_pin, unseal
from sms.providers.base import InboundSms

log = logging.getLogger(__name__)
ALWAYS_ANSWERED = {"stop", "start"}  # honoured even when rate-limited or opted out


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def sanitize_reply(text: str) -> str:
    """Replies echo what people typed (grid codes, notes); control characters there would make the
    provider's reply (TwiML is XML) invalid and the sender would get nothing. Every reply passes here,
    whatever the provider."""
    return _NOT_XML.sub("", text or "")


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
    body = clean_text(body, 4000)
    row = InboundMessage(message_sid=clean_text(message_sid, 64),
                         sender=phone or clean_text(sender, 32) or "unknown", to_number=clean_text(to, 32),
                         body=mask_pin(body), received_at=now, outcome="ok")  # the message log never keeps a PIN
    # One sender's texts are decided one after another (a row lock until commit), so 60 concurrent texts
    # cannot all read "19 this hour" and all act: the rate limit is atomic (core/domain/ratelimit.py).
    ratelimit.serialize(session, f"sms:{row.sender}", now)
    facts = preflight(session, row.message_sid, row.sender, now)
    if facts.seen_id is not None:
        return session.get(InboundMessage, facts.seen_id)
    member = session.get(Member, facts.member_id, options=[
        joinedload(Member.assignments).joinedload(Assignment.area)]) if facts.member_id and phone else None
    pin, text = split_pin(body) if member is not None and member.sms_pin_hash else (None, body)
    parsed = read_text(session, text, member, config)  # grammar first, then sms.understanding
    ctx = Context(session=session, sender=row.sender, member=member, parsed=parsed, now=now, config=config,
                  principal=Principal.for_member(member) if member else None, pin=pin)
    language = ctx.lang
    outcome = _decide(session, ctx, facts, config)
    row.member_id = facts.member_id if member else None
    row.normalized = parsed.normalized[:4000]
    row.command = parsed.command
    row.language = language
    row.reply = sanitize_reply(outcome.reply)
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
        if limit and facts.recent >= limit:  # counted under the sender's lock (receive): atomic
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


# ---------------------------------------------------------------- provider webhooks (any provider)

FILE_EVENT_JOB = "sms.inbound.file_event_job"
INSERT_EVENT = SmsWebhookEvent.__table__.insert().returning(SmsWebhookEvent.__table__.c.id)


def file_inbound(session: Session, inbound, *, config: dict, reply_route: str | None = None,
                 now: datetime | None = None) -> InboundMessage:
    """File one text whatever provider brought it, and — for providers that cannot answer in the webhook's
    response (the Android phone) — put the reply in the outbox in the SAME transaction, keyed by the text.

    Committed together, the text and its reply are both there or both absent: a job that dies after the
    commit leaves a queued reply the sweeper sends; one that dies before leaves nothing, and the sweeper
    files the text afresh. The key makes a second filing queue nothing."""
    row = receive(session, message_sid=inbound.message_sid, sender=inbound.sender, body=inbound.body,
                  to=inbound.to, config=config, now=now)
    if reply_route and row.reply:
        queue_message(session, to=row.sender, body=row.reply, key=reply_key(row.message_sid), purpose="reply",
                      route=reply_route, member_id=row.member_id, area_id=row.area_id)
    return row


def reply_key(message_sid: str) -> str:
    """The outbox key of a text's answer, however the text came in (webhook and job, or the spool's replay):
    a text filed twice by two paths is answered once."""
    return f"reply:{message_sid}"


def handle_webhook_event(session: Session, event, *, config: dict, reply_route: str | None = None,
                         now: datetime | None = None) -> dict:
    """Apply one verified provider event (sms.providers.base.WebhookEvent) exactly once. The caller commits.

    A status or a heartbeat is applied here. A text is only STORED here (its event row, with the text)
    and filed by `file_event_job` after the commit: the phone's webhook then costs one insert, so a burst
    of texts is accepted in milliseconds whatever the commands cost, and nothing is lost if the web
    process dies after answering (the sweeper files what a lost job left). A later retry of a delivery is
    answered from the event table; a concurrent one collides on the unique event id at commit
    (IntegrityError, the caller answers "duplicate")."""
    now = now or utcnow()
    if event.event_id and session.scalar(select(SmsWebhookEvent.id).where(
            SmsWebhookEvent.provider == event.provider, SmsWebhookEvent.event_id == event.event_id)):
        return {"status": "duplicate", "event": event.kind}
    if event.kind == "inbound":
        return _accept_text(session, event, config=config, reply_route=reply_route, now=now)
    result = {"status": "ok", "event": event.kind}
    if event.kind == "status":
        update = event.status
        message = apply_status_callback(session, reference=update.reference, sid=update.sid, status=update.status,
                                        error_code=update.error_code, error_kind=update.error_kind, now=now)
        result["known"] = message is not None
    elif event.kind == "heartbeat":
        routing.record_heartbeat(session, event.provider, now, event.data)
    if event.event_id:
        session.execute(INSERT_EVENT, {"provider": event.provider, "event_id": event.event_id, "event": event.kind,
                                       "received_at": now, "payload": None})
    return result


def _accept_text(session: Session, event, *, config, reply_route: str | None, now: datetime) -> dict:
    inbound = event.inbound
    # Stored before anyone knows who sent it: a PIN is masked, the original sealed until the text is filed.
    payload = {"message_sid": inbound.message_sid, "sender": inbound.sender, "body": mask_pin(inbound.body),
               "sealed_body": seal(inbound.body, config["SECRET_KEY"]), "to": inbound.to,
               "reply_route": reply_route}
    # A provider without event ids is deduplicated by the text itself (its message_sid).
    event_id = event.event_id or f"text:{inbound.message_sid}"[:100]
    row_id = session.execute(INSERT_EVENT, {"provider": event.provider, "event_id": event_id, "event": "inbound",
                                            "received_at": now, "payload": payload}).scalar_one()
    enqueue_after_commit(session, FILE_EVENT_JOB, row_id, queue="sms", job_id=file_job_id(row_id))
    return {"status": "accepted", "event": "inbound"}


def file_job_id(event_row_id: int) -> str:
    """One job id per accepted text, so the sweeper can see that its filing job is still queued."""
    return f"sms-file-{event_row_id}"



def file_event_job(event_row_id: int) -> str:
    """RQ job: file the text an accepted webhook event carried (command, reply in the outbox). Safe to run
    twice or concurrently: the event row is locked, a filed one is skipped, and the text's unique
    message_sid makes a racing second filing roll back and find the first. Returns the text's outcome."""
    app = job_app()
    with app.app_context():
        for attempt in (1, 2):
            try:
                with job_session() as session:
                    return _file_event(session, app.config, event_row_id)
            except IntegrityError:
                if attempt == 2:
                    raise  # the sweeper hands the event out again
    raise AssertionError("unreachable")  # pragma: no cover


def _file_event(session: Session, config, event_row_id: int) -> str:
    row = session.scalar(select(SmsWebhookEvent).where(SmsWebhookEvent.id == event_row_id).with_for_update())
    if row is None:
        return "missing"
    if row.inbound_id is not None or not row.payload:
        return "filed"
    text = row.payload
    body = unseal(text.get("sealed_body"), config["SECRET_KEY"]) or text["body"]
    inbound = InboundSms(provider=row.provider, message_sid=text["message_sid"], sender=text["sender"],
                         body=body, to=text.get("to") or "", received_at=row.received_at)
    message = file_inbound(session, inbound, config=config, reply_route=text.get("reply_route"),
                           now=row.received_at)
    row.inbound_id = message.id
    if text.get("sealed_body"):
        row.payload = {**text, "sealed_body": None}  # filed: not even the sealed PIN is kept
    return message.outcome


def file_unfiled_events(session: Session, now: datetime | None = None, grace_seconds: float = 60.0) -> int:
    """The sweeper's share: hand out again every accepted text not filed `grace_seconds` after it arrived
    (its job was lost with a worker, or Redis blinked). A text whose job is still queued (a backlog
    draining) is left alone, so a sweep each minute adds no copies; filing is idempotent, so a slow job
    filed twice does no harm. Returns how many were handed out."""
    now = now or utcnow()
    ids = session.scalars(select(SmsWebhookEvent.id).where(
        SmsWebhookEvent.event == "inbound", SmsWebhookEvent.inbound_id.is_(None),
        SmsWebhookEvent.received_at <= now - timedelta(seconds=grace_seconds)).order_by(SmsWebhookEvent.id)).all()
    runner = get_runner()
    return sum(runner.enqueue_unless_pending(FILE_EVENT_JOB, event_row_id, queue="sms",
                                             job_id=file_job_id(event_row_id)) for event_row_id in ids)
