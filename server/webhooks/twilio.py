"""Twilio's webhooks (plain Flask: form-encoded in, TwiML out); registers the message log API too.

Every webhook request must carry a valid X-Twilio-Signature over the PUBLIC URL Twilio called — with
GRIDPATROL_PUBLIC_BASE_URL set that is `<base><path>?<query>` whatever scheme and host the app sees behind
a TLS-terminating proxy. A missing or bad signature gets 403 before anything is read or stored.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from core.domain.errors import Forbidden
from core.outages import is_unavailable
from core.db import db
from sms.inbound import clean_text, find_inbound, receive
from sms.spool import after_stored, spool_inbound
from server.api.messages import blp  # noqa: F401  (GET /api/v1/messages, registered with this module)
from sms.delivery import apply_status_callback
from sms.providers.twilio.provider import parse_inbound_form, parse_status_form

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
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token:
        raise Forbidden("webhooks are refused until TWILIO_AUTH_TOKEN is configured", code="not_configured")
    if not signature:
        raise Forbidden("missing X-Twilio-Signature", code="bad_signature")
    params = request.form.to_dict(flat=False)
    flat = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
    if not RequestValidator(token).validate(public_url(), flat, signature):
        log.warning("sms webhook %s: bad signature", request.path)
        raise Forbidden("the X-Twilio-Signature does not match", code="bad_signature")


def twiml(text: str) -> Response:
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/twilio/inbound")
def twilio_inbound():
    require_twilio_signature()
    inbound = parse_inbound_form(request)
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
            # The database blinked: keep the text in the durable spool (issue 9), acknowledge it.
            return twiml(spool_inbound(current_app, db.session, exc, provider="twilio", **kwargs))
    return twiml("")  # pragma: no cover


@bp.post("/twilio/status")
def twilio_status():
    require_twilio_signature()
    update = parse_status_form(request)
    apply_status_callback(db.session, reference=update.reference, sid=update.sid, status=update.status,
                          error_code=update.error_code, error_kind=update.error_kind)
    db.session.commit()
    return Response("", status=204)
