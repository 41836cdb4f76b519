"""Delivery results for providers that only answer when asked (Aliyun's QuerySendDetails).

The sweeper calls `reconcile_deliveries` each run: rows `sent` through such a provider at least
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

from sms.models import OutboundMessage
from sms.providers import configured_names, get_provider
from sms.providers.base import Provider, SendError
from sms.outbox import apply_status_callback

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
