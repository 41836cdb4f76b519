"""Verify and read Twilio's webhooks: signed, form-encoded POSTs carrying an inbound text or a delivery report.

Every delivery must carry a valid X-Twilio-Signature over the PUBLIC URL Twilio called and the form's
parameters; a missing or bad signature is refused (403) before anything is read or stored. Framework-free:
the view (server/webhooks/twilio.py) hands in the URL (behind a TLS proxy: GRIDPATROL_PUBLIC_BASE_URL plus
the path and query), the form and the header, and answers a refusal in the JSON error shape.
"""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from sms.providers.base import InboundSms, StatusUpdate, WebhookRejected
from sms.providers.twilio.provider import kind_of


def verify(url: str, form: dict[str, list[str]], signature: str, *, auth_token: str | None) -> None:
    """Raise WebhookRejected (403) unless `signature` is Twilio's over `url` and the form's parameters."""
    if not auth_token:
        raise WebhookRejected(403, "not_configured", "webhooks are refused until TWILIO_AUTH_TOKEN is configured")
    if not signature:
        raise WebhookRejected(403, "bad_signature", "missing X-Twilio-Signature")
    flat = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
    if not RequestValidator(auth_token).validate(url, flat, signature):
        raise WebhookRejected(403, "bad_signature", "the X-Twilio-Signature does not match")


def parse_inbound(form) -> InboundSms | None:
    """A verified inbound form as an InboundSms; None for a signed request that is not a message (e.g. a
    console test ping)."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid:
        return None
    return InboundSms(provider="twilio", message_sid=sid, sender=form.get("From", ""), to=form.get("To", ""),
                      body=form.get("Body", ""))


def parse_status(form, reference: str | None) -> StatusUpdate:
    """A verified delivery report; `reference` is our outbox reference, echoed in the callback URL's `ref`."""
    code = form.get("ErrorCode") or None
    return StatusUpdate(provider="twilio", reference=reference, sid=form.get("MessageSid"),
                        status=(form.get("MessageStatus") or form.get("SmsStatus") or "").lower(),
                        error_code=code, error_kind=kind_of(code) if code else None)
