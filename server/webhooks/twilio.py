"""Twilio's webhooks (plain Flask: form-encoded in, TwiML out).

Every webhook request must carry a valid X-Twilio-Signature over the PUBLIC URL Twilio called — with
GRIDPATROL_PUBLIC_BASE_URL set that is `<base><path>?<query>` whatever scheme and host the app sees behind
a TLS-terminating proxy. A missing or bad signature gets 403 before anything is read or stored; the check
and the reading of the form are sms/providers/twilio/webhook.py's.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from core.domain.errors import Forbidden
from core.outages import is_unavailable
from core.db import db
from sms.inbound import clean_text, find_inbound, receive
from sms.spool import after_stored, spool_inbound
from sms.delivery import apply_status_callback
from sms.providers.base import WebhookRejected
from sms.providers.twilio import webhook

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")


def public_url() -> str:
    """The URL Twilio signed. Query string included; the body is signed separately (form params)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = request.full_path if request.query_string else request.path
    if base:
        return base.rstrip("/") + path
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}{path}"


def require_twilio_signature() -> None:
    try:
        webhook.verify(public_url(), request.form.to_dict(flat=False), request.headers.get("X-Twilio-Signature", ""),
                       auth_token=current_app.config.get("TWILIO_AUTH_TOKEN"))
    except WebhookRejected as exc:
        if exc.code == "bad_signature" and request.headers.get("X-Twilio-Signature"):
            log.warning("sms webhook %s: bad signature", request.path)
        raise Forbidden(exc.message, code=exc.code) from None


def twiml(text: str) -> Response:
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/twilio/inbound")
def twilio_inbound():
    require_twilio_signature()
    inbound = webhook.parse_inbound(request.form)
    if inbound is None:
        return twiml("")  # signed by Twilio but not a message (e.g. a console test ping)
    sid = inbound.message_sid
    kwargs = dict(message_sid=sid, sender=inbound.sender, to=inbound.to, body=inbound.body,
                  config=current_app.config)
    for attempt in (1, 2):
        try:
            row = receive(db.session, **kwargs)
            reply = row.reply
            db.session.commit()
            after_stored(current_app)
            return twiml(reply)
        except IntegrityError:
            db.session.rollback()  # the same MessageSid arrived twice at once: answer like the first
            existing = find_inbound(db.session, clean_text(sid, 64))
            if existing is not None:
                return twiml(existing.reply)
            if attempt == 2:
                raise  # not a MessageSid race: the error handler answers 409 in the JSON shape
        except DBAPIError as exc:  # after IntegrityError (a subclass): the MessageSid race is handled above
            if not is_unavailable(exc):
                raise
            # The database blinked: keep the text in the durable spool, acknowledge it.
            return twiml(spool_inbound(current_app, db.session, exc, provider="twilio", **kwargs))
    return twiml("")  # pragma: no cover


@bp.post("/twilio/status")
def twilio_status():
    require_twilio_signature()
    update = webhook.parse_status(request.form, request.args.get("ref"))
    apply_status_callback(db.session, reference=update.reference, sid=update.sid, status=update.status,
                          error_code=update.error_code, error_kind=update.error_kind)
    db.session.commit()
    return Response("", status=204)
