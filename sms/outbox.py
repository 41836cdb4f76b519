"""The outbox: every outbound text is a row first and a provider call second.

Rules that keep "nothing lost, nothing sent twice":
- `queue_message` is idempotent by key (unique column; a racing second insert loses and returns the winner).
- The send job marks the row `sending` and COMMITS before calling the provider, then records the answer in
  a second transaction. A worker killed in between leaves `sending` behind; whoever picks the row up later
  asks the provider first (`backend.find`) and only sends again if the provider never saw it.
- Transient errors go back to `queued` with a backoff; when the outcome is unknown (network error after the
  request may have left) the row stays `sending` and the retry reconciles before sending.
- A message still queued after SMS_EXPIRE_AFTER_SECONDS (6 h) expires: stale alerts help nobody.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain.phones import mask_phone, try_normalize_phone
from server.jobs.context import job_app, job_session
from server.jobs.runner import enqueue_many_after_commit, get_runner
from server.models import utcnow
from sms.backends import INVALID_NUMBER_CODES, OPTED_OUT_CODES, TRANSIENT_CODES, SendError, get_backend
from sms.models import OutboundMessage, PENDING_STATES, SmsOptOut
from sms.segments import count_segments

log = logging.getLogger(__name__)

SEND_JOB = "sms.outbox.send_message_job"


def _cfg(name: str):
    return current_app.config[name]


def _as_datetime(now) -> datetime:
    if now is None:
        return utcnow()
    if isinstance(now, str):
        return datetime.fromisoformat(now)
    return now


# ---------------------------------------------------------------- opt-outs

def is_opted_out(session: Session, phone: str) -> bool:
    return session.get(SmsOptOut, phone) is not None


def opt_out(session: Session, phone: str, source: str = "keyword", now: datetime | None = None) -> None:
    if session.get(SmsOptOut, phone) is None:
        try:
            with session.begin_nested():
                session.add(SmsOptOut(phone=phone, source=source, opted_out_at=now or utcnow()))
        except IntegrityError:
            pass  # opted out concurrently: same result


def opt_in(session: Session, phone: str) -> bool:
    row = session.get(SmsOptOut, phone)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# ---------------------------------------------------------------- queueing

def queue_message(session: Session, *, to: str, body: str, key: str, purpose: str = "alert",
                  member_id: int | None = None, area_id: int | None = None) -> OutboundMessage:
    """Put a text in the outbox and send it after the caller commits.

    A second call with a known key returns the existing row and sends nothing. An opted-out recipient
    gets a row in state `opted_out` (visible in the log) and nothing is sent. An unparseable number is
    stored as `invalid_number`. `area_id` (optional) lets that area's leaders see the row in the log.
    """
    item = {"to": to, "body": body, "key": key, "purpose": purpose, "member_id": member_id, "area_id": area_id}
    [message], created = _prepare(session, [item])
    if not created:
        return message
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        winner = session.scalar(select(OutboundMessage).where(OutboundMessage.key == key))
        if winner is None:
            raise
        return winner
    _enqueue_sends(session, created)
    log.info("outbox %s %s to %s (%s, %d seg)", message.key, message.state, mask_phone(message.to_number),
             message.encoding, message.segments)
    return message


def queue_messages(session: Session, items: list[dict]) -> list[OutboundMessage]:
    """`queue_message` for a batch (a peak of alerts): the same rules, a handful of statements per batch
    instead of six per message. Each item has to, body, key and optionally purpose, member_id, area_id.
    If another writer races us to one of the keys, the batch is redone one message at a time, each of
    which is idempotent, so no key is ever queued twice."""
    if not items:
        return []
    result, created = _prepare(session, items)
    try:
        with session.begin_nested():
            session.add_all(created)
    except IntegrityError:
        return [queue_message(session, to=i["to"], body=i["body"], key=i["key"], purpose=i.get("purpose", "alert"),
                              member_id=i.get("member_id"), area_id=i.get("area_id")) for i in items]
    _enqueue_sends(session, created)
    log.info("outbox: %d new of %d (%d queued)", len(created), len(items),
             sum(1 for m in created if m.state == "queued"))
    return result


def _prepare(session: Session, items: list[dict]) -> tuple[list[OutboundMessage], list[OutboundMessage]]:
    """The one decision and row builder behind both queue functions: (a message per item, the new ones).

    Known keys return their row. Otherwise the state is decided in this order: an unparseable number is
    `invalid_number`, an opted-out phone `opted_out`, the same words to the same phone within the duplicate
    window (also earlier in this batch) `duplicate`, else `queued`."""
    now = utcnow()
    region = current_app.config.get("GRIDPATROL_PHONE_REGION", "CN")
    keys = [item["key"] for item in items]
    known = {m.key: m for m in session.scalars(select(OutboundMessage).where(OutboundMessage.key.in_(keys)))}
    numbers = {item["key"]: try_normalize_phone(item["to"] or "", region) for item in items}
    valid = {n for n in numbers.values() if n}
    opted_out = set(session.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(valid)))) if valid else set()
    recent = _recent_pairs(session, valid, now)
    created: list[OutboundMessage] = []
    result: list[OutboundMessage] = []
    for item in items:
        key, body = item["key"], item["body"]
        if key in known:
            result.append(known[key])
            continue
        number = numbers[key]
        if number is None:
            state, number = "invalid_number", (item["to"] or "")[:32]
        elif number in opted_out:
            state = "opted_out"
        elif (number, body) in recent:
            state = "duplicate"
        else:
            state = "queued"
            recent.add((number, body))
        info = count_segments(body)
        message = OutboundMessage(key=key, to_number=number, body=body, purpose=item.get("purpose") or "alert",
                                  member_id=item.get("member_id"), area_id=item.get("area_id"), state=state,
                                  encoding=info.encoding, segments=info.segments,
                                  finished_at=None if state == "queued" else now)
        message.note("queued" if state == "queued" else state, at=now)
        known[key] = message
        created.append(message)
        result.append(message)
    return result, created


def _enqueue_sends(session: Session, created: list[OutboundMessage]) -> None:
    enqueue_many_after_commit(session, SEND_JOB, [(m.id,) for m in created if m.state == "queued"], queue="sms")


def _recent_pairs(session: Session, numbers: set[str], now: datetime) -> set[tuple[str, str]]:
    """(number, body) pairs sent or on their way within the duplicate window, for a batch of numbers."""
    window = current_app.config.get("SMS_DUPLICATE_WINDOW_SECONDS", 0)
    if not window or not numbers:
        return set()
    return set(session.execute(
        select(OutboundMessage.to_number, OutboundMessage.body).where(
            OutboundMessage.to_number.in_(numbers),
            OutboundMessage.created_at >= now - timedelta(seconds=window),
            OutboundMessage.state.in_(("queued", "sending", "sent", "delivered")))).all())


# ---------------------------------------------------------------- the send job

def _locked(session: Session, message_id: int) -> OutboundMessage | None:
    return session.scalar(select(OutboundMessage).where(OutboundMessage.id == message_id).with_for_update())


def _backoff_seconds(attempts: int) -> float:
    base = float(_cfg("SMS_RETRY_BASE_SECONDS"))
    return min(base * (2 ** max(attempts - 1, 0)), float(_cfg("SMS_RETRY_MAX_SECONDS")))


def _finish(message: OutboundMessage, state: str, now: datetime, **note) -> None:
    message.state = state
    message.finished_at = now
    message.next_attempt_at = None
    message.note(state, at=now, **note)


def send_message_job(message_id: int, now: str | datetime | None = None) -> str:
    """RQ job: send one outbox row. Safe to run twice, concurrently, or after a crash. Returns the state."""
    now = _as_datetime(now)
    app = job_app()
    with app.app_context():
        backend = get_backend(app)
        with job_session() as session:
            message = _locked(session, message_id)
            if message is None:
                return "missing"
            action = _claim(session, message, backend, now)
            state, to, body, reference = message.state, message.to_number, message.body, message.reference
        if action != "send":
            return state
        try:
            sid, error = backend.send(to, body, reference), None
        except SendError as exc:
            sid, error = None, exc
        with job_session() as session:
            message = _locked(session, message_id)
            return _record_outcome(session, message, backend, sid, error, now)


def _claim(session: Session, message: OutboundMessage, backend, now: datetime) -> str:
    """Decide, under the row lock, whether this run sends. Returns "send" or "skip"."""
    if message.state not in PENDING_STATES:
        return "skip"
    if message.next_attempt_at is not None and message.next_attempt_at > now + timedelta(seconds=1):
        return "skip"  # not due yet; the scheduled retry or the sweeper will come back
    if message.state == "sending":
        lease = timedelta(seconds=_cfg("SMS_SENDING_LEASE_SECONDS"))
        if message.next_attempt_at is None and message.sending_at and message.sending_at + lease > now:
            return "skip"  # another worker is on it right now
        if _reconcile(session, message, backend, now) != "absent":
            return "skip"
    if message.created_at + timedelta(seconds=_cfg("SMS_EXPIRE_AFTER_SECONDS")) <= now:
        _finish(message, "expired", now)
        return "skip"
    if is_opted_out(session, message.to_number):
        _finish(message, "opted_out", now)
        return "skip"
    if message.attempts >= _cfg("SMS_MAX_ATTEMPTS"):
        _finish(message, "failed", now, reason="max attempts")
        return "skip"
    message.state = "sending"
    message.attempts += 1
    message.sending_at = now
    message.next_attempt_at = None
    message.provider = backend.name
    message.note("sending", at=now, attempt=message.attempts)
    return "send"


def _reconcile(session: Session, message: OutboundMessage, backend, now: datetime) -> str:
    """A previous attempt's outcome is unknown: ask before resending. Returns "sent" (the provider has
    it: never resend), "absent" (safe to send) or "unknown" (could not ask; try again later)."""
    if message.provider_sid and not _sid_is_stale(message):
        message.state = "sent"
        message.sent_at = message.sent_at or now
        message.note("reconciled", at=now, sid=message.provider_sid, how="status callback")
        return "sent"
    try:
        found = backend.find(message.to_number, message.body, message.reference,
                             message.sending_at or message.created_at)
    except SendError as exc:
        message.next_attempt_at = now + timedelta(seconds=_backoff_seconds(message.attempts))
        message.note("reconcile_failed", at=now, code=exc.code)
        _schedule_retry(message.id, message.next_attempt_at, now)
        return "unknown"
    known = {entry.get("sid") for entry in message.history or [] if entry.get("event") == "undelivered"}
    if found is not None and found.sid not in known:
        message.provider_sid = found.sid
        message.state = "sent"
        message.sent_at = message.sent_at or now
        message.note("reconciled", at=now, sid=found.sid, how="provider lookup", status=found.status)
        log.warning("outbox %s: provider already had %s; not resending", message.key, found.sid)
        return "sent"
    message.note("reconciled", at=now, how="provider lookup", found=False)
    return "absent"


def _sid_is_stale(message: OutboundMessage) -> bool:
    """A SID from an earlier attempt that came back undelivered does not prove this attempt was sent."""
    return any(e.get("event") == "undelivered" and e.get("sid") == message.provider_sid for e in message.history)


def _record_outcome(session, message, backend, sid, error: SendError | None, now) -> str:
    if message is None:
        return "missing"
    if error is None:
        if message.state == "sending":  # a fast status callback may already have moved it on
            message.state = "sent"
            message.sent_at = now
        message.provider_sid = sid
        message.error_code = None
        message.note("accepted", at=now, sid=sid)
        return message.state
    message.error_code = error.code
    message.error_message = str(error)[:500]
    if error.code in OPTED_OUT_CODES:
        opt_out(session, message.to_number, source="provider", now=now)
        _finish(message, "opted_out", now, code=error.code)
    elif error.code in INVALID_NUMBER_CODES:
        _finish(message, "invalid_number", now, code=error.code)
    elif not error.transient:
        _finish(message, "failed", now, code=error.code)
    elif message.attempts >= _cfg("SMS_MAX_ATTEMPTS"):
        _finish(message, "failed", now, code=error.code, reason="max attempts")
    else:
        # A network error may have happened after Twilio accepted the request: stay `sending` so the
        # retry asks the provider first. An HTTP error answer means it was refused: plain queued.
        message.state = "sending" if error.code == "network" else "queued"
        message.next_attempt_at = now + timedelta(seconds=_backoff_seconds(message.attempts))
        message.note("retry", at=now, code=error.code, due=message.next_attempt_at.isoformat())
        _schedule_retry(message.id, message.next_attempt_at, now)
    return message.state


def _schedule_retry(message_id: int, due: datetime, now: datetime) -> None:
    """Ask the job runner to come back at `due`. RQ needs workers started with --with-scheduler; the
    in-process runner uses a timer. The sweeper (`gridpatrol sms sweep`, or the workers' timer) catches
    anything a scheduler misses."""
    get_runner().enqueue_in(max((due - now).total_seconds(), 0.0), SEND_JOB, message_id, queue="sms")


# ---------------------------------------------------------------- the sweeper

def sweep_outbox(session: Session, now: datetime | None = None) -> dict:
    """Expire stale rows and re-enqueue what a lost job, a crash or a missing scheduler left behind.

    Run it every minute or so (`gridpatrol sms sweep`, or the workers' timer). Jobs it enqueues are safe
    to run twice, so overlapping sweeps do no harm. The caller commits.
    """
    now = now or utcnow()
    expire_before = now - timedelta(seconds=_cfg("SMS_EXPIRE_AFTER_SECONDS"))
    grace = now - timedelta(seconds=_cfg("SMS_SWEEP_GRACE_SECONDS"))
    lease_start = now - timedelta(seconds=_cfg("SMS_SENDING_LEASE_SECONDS"))
    counts = {"expired": 0, "enqueued": 0}
    for message in session.scalars(select(OutboundMessage).where(
            OutboundMessage.state == "queued", OutboundMessage.created_at <= expire_before)):
        _finish(message, "expired", now)
        counts["expired"] += 1
    due = session.scalars(select(OutboundMessage.id).where(
        ((OutboundMessage.state == "queued") & (OutboundMessage.created_at <= grace)
         & ((OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now)))
        | ((OutboundMessage.state == "sending")
           & (((OutboundMessage.next_attempt_at.is_(None)) & (OutboundMessage.sending_at <= lease_start))
              | (OutboundMessage.next_attempt_at <= now)))).order_by(OutboundMessage.id)).all()
    session.flush()
    runner = get_runner()
    for message_id in due:
        runner.enqueue(SEND_JOB, message_id, queue="sms", now=now.isoformat())
        counts["enqueued"] += 1
    return counts


def sweep_outbox_job(now: str | datetime | None = None) -> dict:
    """The sweep as a job (the one the workers' periodic table runs every minute)."""
    with job_session() as session:
        return sweep_outbox(session, _as_datetime(now))


# ---------------------------------------------------------------- delivery callbacks

STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}
PROVIDER_STATES = {"accepted": None, "scheduled": None, "queued": None, "sending": None, "sent": "sent",
                   "delivered": "delivered", "read": "delivered", "undelivered": "undelivered",
                   "failed": "failed", "canceled": "failed"}


def apply_status_callback(session: Session, *, reference: str | None, sid: str | None, status: str,
                          error_code: str | None = None, now: datetime | None = None) -> OutboundMessage | None:
    """A delivery report from the provider. Never moves a row backwards; a report about an earlier
    attempt's SID is only noted. Undelivered with a transient code (30003) is tried again."""
    now = now or utcnow()
    message = None
    if reference:
        message = session.scalar(select(OutboundMessage).where(OutboundMessage.reference == reference)
                                 .with_for_update())
    if message is None and sid:
        message = session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid)
                                 .with_for_update())
    if message is None:
        log.info("status callback for unknown message ref=%s sid=%s", reference, sid)
        return None
    message.note("callback", at=now, status=status, sid=sid, code=error_code)
    if sid and message.provider_sid and sid != message.provider_sid:
        return message  # about an earlier attempt
    if sid and not message.provider_sid:
        message.provider_sid = sid  # also proves the provider has it, should our own commit never come
    target = PROVIDER_STATES.get(status)
    if target is None or STATUS_RANK.get(target, 0) < STATUS_RANK.get(message.state, 3):
        return message
    if message.state in ("delivered",) or (message.state not in STATUS_RANK):
        return message  # delivered is final; so are deliberate non-sends
    message.error_code = error_code or message.error_code
    if target == "sent":
        message.state, message.sent_at = "sent", message.sent_at or now
    elif target == "delivered":
        message.state, message.delivered_at = "delivered", now
        message.finished_at = now
    elif error_code in OPTED_OUT_CODES:
        opt_out(session, message.to_number, source="provider", now=now)
        _finish(message, "opted_out", now, code=error_code)
    elif error_code in INVALID_NUMBER_CODES:
        _finish(message, "invalid_number", now, code=error_code)
    elif (target == "undelivered" and error_code in TRANSIENT_CODES
          and message.attempts < current_app.config["SMS_MAX_ATTEMPTS"]):
        message.note("undelivered", at=now, sid=message.provider_sid, code=error_code)
        message.state = "queued"
        message.next_attempt_at = now + timedelta(seconds=_backoff_seconds(message.attempts))
        _schedule_retry_after_commit(session, message.id, message.next_attempt_at, now)
    else:
        _finish(message, target, now, code=error_code)
    return message


def _schedule_retry_after_commit(session: Session, message_id: int, due: datetime, now: datetime) -> None:
    at = utcnow() + max(due - now, timedelta(0))  # `now` may be a simulated clock; the runner's is real
    get_runner().enqueue_after_commit(session, SEND_JOB, message_id, queue="sms", at=at)
