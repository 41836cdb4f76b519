"""Delivery results: the reports providers push (a webhook's status, `apply_status_callback`) and the ones
they only give when asked (Aliyun's QuerySendDetails, `reconcile_deliveries`), applied the same way.

The sweeper (sms.sweep) calls `reconcile_deliveries` each run: rows `sent` through such a provider at least
SMS_DELIVERY_CHECK_AFTER seconds ago (default 60) are asked about, oldest first, at most
SMS_DELIVERY_CHECK_BATCH per run (default 200); the answer goes through the same forward-only
`apply_status_callback` as a pushed receipt. A row still waiting is asked again after the same delay, and
rows older than a day are left as `sent` (carriers give up long before).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.runner import get_runner
from core.models import utcnow
from sms.models import OutboundMessage
from sms.providers import configured_names, get_provider
from sms.providers.base import INVALID_NUMBER, OPTED_OUT, RETRYABLE_KINDS, Provider, SendError
from sms.outbox import SEND_JOB, backoff_seconds, finish_message, opt_out

log = logging.getLogger(__name__)


def _asks(name: str) -> bool:
    provider = get_provider(current_app._get_current_object(), name)
    return type(provider).query_status is not Provider.query_status


def reconcile_deliveries(session: Session, now: datetime) -> dict:
    names = [n for n in configured_names(current_app.config) if _asks(n)]
    if not names:
        return {}  # no provider here reports delivery only when asked
    counts = {"checked": 0, "updated": 0}
    delay = timedelta(seconds=current_app.config.get("SMS_DELIVERY_CHECK_AFTER", 60))
    rows = session.scalars(select(OutboundMessage).where(
        OutboundMessage.state == "sent", OutboundMessage.provider.in_(names),
        OutboundMessage.provider_sid.is_not(None), OutboundMessage.sent_at <= now - delay,
        OutboundMessage.sent_at >= now - timedelta(days=1),
        (OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now))
        .order_by(OutboundMessage.sent_at).limit(current_app.config.get("SMS_DELIVERY_CHECK_BATCH", 200))).all()
    for message in rows:
        provider = get_provider(current_app._get_current_object(), message.provider)
        counts["checked"] += 1
        try:
            updates = provider.query_status([message.provider_sid], message.to_number, message.sent_at)
        except SendError as exc:
            log.warning("delivery check for %s failed: %s", message.key, exc)
            message.next_attempt_at = now + delay
            continue
        if not updates:
            message.next_attempt_at = now + delay  # still waiting for the carrier
            continue
        update = updates[-1]
        message.next_attempt_at = None
        apply_status_callback(session, reference=message.reference, sid=None, status=update.status,
                              error_code=update.error_code, error_kind=update.error_kind, now=now)
        counts["updated"] += 1
    return counts


# ---------------------------------------------------------------- pushed reports

STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}
PROVIDER_STATES = {"accepted": None, "scheduled": None, "queued": None, "sending": None, "sent": "sent",
                   "delivered": "delivered", "read": "delivered", "undelivered": "undelivered",
                   "failed": "failed", "canceled": "failed"}


def apply_status_callback(session: Session, *, reference: str | None, sid: str | None, status: str,
                          error_code: str | None = None, now: datetime | None = None,
                          error_kind: str | None = None) -> OutboundMessage | None:
    """A delivery report from the provider. Never moves a row backwards; a report about an earlier
    attempt's SID is only noted. `error_kind` (the provider's mapping of its code to a SendError kind)
    decides what a failure means: opted out, invalid number, or transient (tried again)."""
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
    elif error_kind == OPTED_OUT:
        opt_out(session, message.to_number, source="provider", now=now)
        finish_message(message, "opted_out", now, code=error_code)
    elif error_kind == INVALID_NUMBER:
        finish_message(message, "invalid_number", now, code=error_code)
    elif (target == "undelivered" and error_kind in RETRYABLE_KINDS
          and message.attempts < current_app.config["SMS_MAX_ATTEMPTS"]):
        message.note("undelivered", at=now, sid=message.provider_sid, code=error_code)
        message.state = "queued"
        message.next_attempt_at = now + timedelta(seconds=backoff_seconds(message.attempts))
        _schedule_retry_after_commit(session, message.id, message.next_attempt_at, now)
    else:
        finish_message(message, target, now, code=error_code)
    return message


def _schedule_retry_after_commit(session: Session, message_id: int, due: datetime, now: datetime) -> None:
    at = utcnow() + max(due - now, timedelta(0))  # `now` may be a simulated clock; the runner's is real
    get_runner().enqueue_after_commit(session, SEND_JOB, message_id, queue="sms", at=at)
