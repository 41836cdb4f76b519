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

from core.domain.phones import mask_phone, try_normalize_phone
from core.jobs.context import job_app, job_session
from core.jobs.runner import enqueue_many_after_commit, get_runner
from core.models import utcnow
from sms import routing
from sms.models import OutboundMessage, PENDING_STATES, SmsOptOut
from sms.providers import get_provider
from sms.providers.base import (INVALID_NUMBER, OPTED_OUT, RATE_LIMITED, RETRYABLE_KINDS, OutgoingSms,
                                SendError)
from core.domain.segments import count_segments

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
                  member_id: int | None = None, area_id: int | None = None, route: str | None = None,
                  params: dict | None = None) -> OutboundMessage:
    """Put a text in the outbox and send it after the caller commits.

    A second call with a known key returns the existing row and sends nothing. An opted-out recipient
    gets a row in state `opted_out` (visible in the log) and nothing is sent. An unparseable number is
    stored as `invalid_number`. `area_id` (optional) lets that area's leaders see the row in the log.
    `route` pins the provider (a reply leaves the way its text came in); `params` are template variables
    for template providers. A reply (purpose "reply") is exempt from the opt-out and duplicate checks:
    the inbound layer already decided it must be sent (e.g. the STOP confirmation).
    """
    item = {"to": to, "body": body, "key": key, "purpose": purpose, "member_id": member_id, "area_id": area_id,
            "route": route, "params": params}
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
                              member_id=i.get("member_id"), area_id=i.get("area_id"), route=i.get("route"),
                              params=i.get("params")) for i in items]
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
        reply = item.get("purpose") == "reply"  # the inbound layer decided it must go (e.g. the STOP answer)
        if number is None:
            state, number = "invalid_number", (item["to"] or "")[:32]
        elif number in opted_out and not reply:
            state = "opted_out"
        elif (number, body) in recent and not reply:
            state = "duplicate"
        else:
            state = "queued"
            recent.add((number, body))
        info = count_segments(body)
        purpose = item.get("purpose") or "alert"
        rejected = _rejected_by_provider(to=number or "", body=body, purpose=purpose, route=item.get("route"),
                                         params=item.get("params")) if state == "queued" else None
        if rejected is not None:
            state = "failed"
        message = OutboundMessage(key=key, to_number=number, body=body, purpose=purpose,
                                  member_id=item.get("member_id"), area_id=item.get("area_id"), state=state,
                                  encoding=info.encoding, segments=info.segments,
                                  finished_at=None if state == "queued" else now, route=item.get("route"),
                                  params=item.get("params"),
                                  provider=routing.planned_provider(current_app.config, purpose, item.get("route")))
        message.note("queued" if state == "queued" else state, at=now,
                     **({"code": rejected.code, "reason": str(rejected)} if rejected is not None else {}))
        if rejected is not None:
            message.error_code, message.error_message = rejected.code, str(rejected)[:500]
        known[key] = message
        created.append(message)
        result.append(message)
    return result, created


def _enqueue_sends(session: Session, created: list[OutboundMessage]) -> None:
    enqueue_many_after_commit(session, SEND_JOB, _send_jobs(created), queue="sms")


def _send_jobs(messages: list[OutboundMessage]) -> list[tuple]:
    """One send job per queued row, except for providers that take batches (Aliyun): one job per batch,
    since each job sends a full batch of what is queued for its provider. The sweeper covers the rest."""
    app = current_app._get_current_object()
    jobs, by_provider = [], {}
    for message in messages:
        if message.state == "queued":
            by_provider.setdefault(message.provider, []).append(message.id)
    for name, ids in by_provider.items():
        size = max(get_provider(app, name).max_batch, 1) if name else 1
        jobs += [(message_id,) for message_id in ids[::size]]
    return jobs


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


def backoff_seconds(attempts: int) -> float:
    base = float(_cfg("SMS_RETRY_BASE_SECONDS"))
    return min(base * (2 ** max(attempts - 1, 0)), float(_cfg("SMS_RETRY_MAX_SECONDS")))


def finish_message(message: OutboundMessage, state: str, now: datetime, **note) -> None:
    message.state = state
    message.finished_at = now
    message.next_attempt_at = None
    message.note(state, at=now, **note)


def _outgoing(message: OutboundMessage) -> OutgoingSms:
    return OutgoingSms(to=message.to_number, body=message.body, reference=message.reference,
                       purpose=message.purpose, params=message.params)


def _rejected_by_provider(*, to: str, body: str, purpose: str, route: str | None,
                          params: dict | None) -> SendError | None:
    """Queue-time check against the planned provider's limits (Aliyun's template variables): a clear
    failure in the log now instead of a refusal at send time. Nothing is ever truncated to fit."""
    app = current_app._get_current_object()
    provider = get_provider(app, routing.planned_provider(app.config, purpose, route))
    try:
        provider.validate(OutgoingSms(to=to, body=body, reference="", purpose=purpose, params=params))
    except SendError as exc:
        return exc
    return None


def send_message_job(message_id: int, now: str | datetime | None = None) -> str:
    """RQ job: send one outbox row — and, when its provider takes batches (Aliyun's SendBatchSms), the
    queued rows waiting for the same provider and template with it. Safe to run twice, concurrently, or
    after a crash: every row is claimed under its lock and committed as `sending` before the provider call.
    Returns the state of `message_id`."""
    now = _as_datetime(now)
    app = job_app()
    with app.app_context():
        with job_session() as session:
            message = _locked(session, message_id)
            if message is None:
                return "missing"
            provider = _provider_for(session, app, message, now)
            action = _claim(session, message, provider, now)
            state = message.state
            batch = [(message.id, _outgoing(message))] if action == "send" else []
            if provider.max_batch > 1 and (batch or state not in PENDING_STATES):
                # One job per batch was enqueued (see _send_jobs): it sends a full batch of whatever is
                # queued for this provider and template, even when another job already took its own row.
                limit = provider.max_batch - len(batch)
                batch += [(peer.id, _outgoing(peer)) for peer in _claim_peers(session, message, provider, now, limit)]
            if not batch:
                return state
        if len(batch) > 1:
            results = provider.send_batch([out for _, out in batch])
        else:
            results = [_send_one(provider, batch[0][1])]
        outcome = state
        with job_session() as session:
            rows = {m.id: m for m in session.scalars(select(OutboundMessage).where(
                OutboundMessage.id.in_([row_id for row_id, _ in batch])).with_for_update())}
            for (row_id, _), result in zip(batch, results):
                sid, error = (None, result) if isinstance(result, SendError) else (result, None)
                row_state = _record_outcome(session, rows.get(row_id), provider, sid, error, now)
                if row_id == message_id:
                    outcome = row_state
        return outcome


def _send_one(provider, outgoing: OutgoingSms):
    try:
        return provider.send(outgoing)
    except SendError as exc:
        return exc


def _provider_for(session: Session, app, message: OutboundMessage, now: datetime):
    """A row whose last attempt's outcome is unknown stays with that provider (only it can say whether it
    has the message); otherwise the router picks, failing alerts over when their provider is down."""
    if message.state == "sending" and message.provider:
        return get_provider(app, message.provider)
    if message.state not in PENDING_STATES:
        return get_provider(app, message.provider or routing.planned_provider(app.config, message.purpose,
                                                                              message.route))
    name, notices = routing.choose(session, app.config, message, now)
    for notice in notices:
        queue_message(session, **notice)
    return get_provider(app, name)


def _claim_peers(session: Session, message: OutboundMessage, provider, now: datetime,
                 limit: int) -> list[OutboundMessage]:
    """Queued rows that can share `message`'s provider call: same provider plan, same batch key, due now.
    SKIP LOCKED lets two workers build two batches instead of waiting on each other."""
    key = provider.batch_key(_outgoing(message))
    query = (select(OutboundMessage).where(
        OutboundMessage.state == "queued", OutboundMessage.id != message.id,
        OutboundMessage.purpose == message.purpose, OutboundMessage.provider == provider.name,
        ((OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now)))
        .order_by(OutboundMessage.id).limit(limit * 2).with_for_update(skip_locked=True))
    if message.route:
        query = query.where(OutboundMessage.route == message.route)
    else:
        query = query.where(OutboundMessage.route.is_(None))
    candidates = [p for p in session.scalars(query) if provider.batch_key(_outgoing(p)) == key][:limit]
    numbers = {p.to_number for p in candidates}
    opted = set(session.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(numbers)))) if numbers else set()
    return [p for p in candidates if _claim(session, p, provider, now, opted_out=p.to_number in opted) == "send"]


def _claim(session: Session, message: OutboundMessage, provider, now: datetime,
           opted_out: bool | None = None) -> str:
    """Decide, under the row lock, whether this run sends. Returns "send" or "skip"."""
    if message.state not in PENDING_STATES:
        return "skip"
    if message.next_attempt_at is not None and message.next_attempt_at > now + timedelta(seconds=1):
        return "skip"  # not due yet; the scheduled retry or the sweeper will come back
    if message.state == "sending":
        lease = timedelta(seconds=_cfg("SMS_SENDING_LEASE_SECONDS"))
        if message.next_attempt_at is None and message.sending_at and message.sending_at + lease > now:
            return "skip"  # another worker is on it right now
        if _reconcile(session, message, provider, now) != "absent":
            return "skip"
    if message.created_at + timedelta(seconds=_cfg("SMS_EXPIRE_AFTER_SECONDS")) <= now:
        finish_message(message, "expired", now)
        return "skip"
    if opted_out is None and message.purpose != "reply":
        opted_out = is_opted_out(session, message.to_number)
    if message.purpose != "reply" and opted_out:
        finish_message(message, "opted_out", now)
        return "skip"
    if message.attempts >= _cfg("SMS_MAX_ATTEMPTS"):
        finish_message(message, "failed", now, reason="max attempts")
        return "skip"
    message.state = "sending"
    message.attempts += 1
    message.sending_at = now
    message.next_attempt_at = None
    message.provider = provider.name
    message.note("sending", at=now, attempt=message.attempts, provider=provider.name)
    return "send"


def _reconcile(session: Session, message: OutboundMessage, provider, now: datetime) -> str:
    """A previous attempt's outcome is unknown: ask before resending. Returns "sent" (the provider has
    it: never resend), "absent" (safe to send) or "unknown" (could not ask; try again later)."""
    if message.provider_sid and not _sid_is_stale(message):
        message.state = "sent"
        message.sent_at = message.sent_at or now
        message.note("reconciled", at=now, sid=message.provider_sid, how="status callback")
        return "sent"
    try:
        found = provider.find(_outgoing(message), message.sending_at or message.created_at)
    except SendError as exc:
        message.next_attempt_at = now + timedelta(seconds=backoff_seconds(message.attempts))
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


def _record_outcome(session, message, provider, sid, error: SendError | None, now) -> str:
    """Branch on the error's kind only: what the provider's codes mean was decided in its folder."""
    if message is None:
        return "missing"
    name = getattr(provider, "name", message.provider)
    if error is None:
        if message.state == "sending":  # a fast status callback may already have moved it on
            message.state = "sent"
            message.sent_at = now
        message.provider_sid = sid
        message.error_code = None
        message.note("accepted", at=now, sid=sid)
        routing.record_success(session, name, now)
        return message.state
    message.error_code = error.code
    message.error_message = str(error)[:500]
    routing.record_error(session, name, error, now, current_app.config)
    if error.kind == OPTED_OUT:
        opt_out(session, message.to_number, source="provider", now=now)
        finish_message(message, "opted_out", now, code=error.code)
    elif error.kind == INVALID_NUMBER:
        finish_message(message, "invalid_number", now, code=error.code)
    elif error.kind not in RETRYABLE_KINDS:  # rejected_content: the same words will be refused again
        finish_message(message, "failed", now, code=error.code, kind=error.kind)
    elif message.attempts >= _cfg("SMS_MAX_ATTEMPTS"):
        finish_message(message, "failed", now, code=error.code, kind=error.kind, reason="max attempts")
    else:
        # The request may have reached the provider before the error (a dropped connection, a garbled
        # answer): stay `sending` so the retry asks the provider first. A refusal means plain queued.
        message.state = "sending" if error.maybe_sent else "queued"
        delay = backoff_seconds(message.attempts)
        if error.kind == RATE_LIMITED and error.retry_after:
            delay = max(delay, float(error.retry_after))
        message.next_attempt_at = now + timedelta(seconds=delay)
        message.note("retry", at=now, code=error.code, kind=error.kind, due=message.next_attempt_at.isoformat())
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
        finish_message(message, "expired", now)
        counts["expired"] += 1
    due = session.scalars(select(OutboundMessage.id).where(
        ((OutboundMessage.state == "queued") & (OutboundMessage.created_at <= grace)
         & ((OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now)))
        | ((OutboundMessage.state == "sending")
           & (((OutboundMessage.next_attempt_at.is_(None)) & (OutboundMessage.sending_at <= lease_start))
              | (OutboundMessage.next_attempt_at <= now)))).order_by(OutboundMessage.id)).all()
    session.flush()
    runner = get_runner()
    for message_id in due:  # one sweeper job per row at a time: a backlog draining gets no copies
        counts["enqueued"] += runner.enqueue_unless_pending(SEND_JOB, message_id, queue="sms",
                                                            job_id=f"sms-sweep-send-{message_id}", now=now.isoformat())
    return counts
