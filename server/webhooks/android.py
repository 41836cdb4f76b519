"""POST /sms/android/webhook: every event the office phone sends (texts in, delivery reports, pings).

The provider module verifies and parses (403 forged/replayed, 400/413/422 malformed: nothing stored);
the shared inbound layer (sms.inbound.handle_webhook_event) applies the event once: a text is stored and
filed by a job, which queues its reply to leave through this phone. When the database is unreachable a
text goes to the durable spool (answered 200 "spooled"); other events get 503 and the phone retries.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.outages import is_unavailable

from server.http.errors import error_response
from core.db import db
from sms.inbound import handle_webhook_event
from sms.spool import after_stored, spool_inbound
from sms.providers import configured_names, get_provider
from sms.providers.android.webhook import MAX_BODY_BYTES
from sms.providers.base import WebhookRejected

log = logging.getLogger(__name__)

bp = Blueprint("sms_android", __name__, url_prefix="/sms/android")


@bp.post("/webhook")
def android_webhook():
    if "android" not in configured_names(current_app.config):
        return error_response(404, "not_configured", "the android SMS provider is not configured here")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return error_response(413, "payload_too_large", f"a webhook body is at most {MAX_BODY_BYTES} bytes")
    provider = get_provider(current_app._get_current_object(), "android")
    raw = request.get_data(cache=True)
    try:
        event = provider.parse_event(raw, request.headers)
    except WebhookRejected as exc:
        log.warning("android webhook refused: %s (%s)", exc.code, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.details)
    for attempt in (1, 2):
        try:
            result = handle_webhook_event(db.session, event, config=current_app.config, reply_route="android")
            db.session.commit()
            after_stored(current_app)
            return jsonify(result)
        except IntegrityError:
            db.session.rollback()  # the same delivery (or the same text) is being filed right now: go again
            if attempt == 2:
                return jsonify({"status": "duplicate", "event": event.kind})
        except DBAPIError as exc:  # after IntegrityError (a subclass)
            if not is_unavailable(exc) or event.kind != "inbound":
                raise  # a delivery report or a ping: 503, the phone sends it again
            # The database blinked: keep the text in the durable spool; its reply leaves through
            # the phone once the spool is replayed.
            text = event.inbound
            spool_inbound(current_app, db.session, exc, provider="android", message_sid=text.message_sid,
                          sender=text.sender, to=text.to, body=text.body, event_id=event.event_id,
                          config=current_app.config)
            return jsonify({"status": "spooled", "event": event.kind})
    return jsonify({"status": "ok"})  # pragma: no cover
