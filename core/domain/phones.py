"""Phone numbers: stored in E.164, parsed with the default region (CN), masked in logs."""
from __future__ import annotations

import logging
import re

import phonenumbers

from core.domain.errors import Invalid


def normalize_phone(raw: str, region: str = "CN") -> str:
    """Return E.164 or raise Invalid with a message a clerk can act on."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(f"not a phone number: {text!r}", details={"phone": [f"Not a phone number: {text!r}."]}) from exc
    if not phonenumbers.is_possible_number(number):
        raise Invalid(f"not a possible phone number: {text!r}",
                      details={"phone": [f"Not a possible phone number: {text!r}."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str, region: str = "CN") -> str | None:
    try:
        return normalize_phone(raw, region)
    except Invalid:
        return None


def mask_phone(e164: str | None) -> str:
    """+8613812345678 -> +86138****5678: enough to tell numbers apart in a log, not to dial."""
    if not e164:
        return ""
    if len(e164) <= 7:
        return "*" * len(e164)
    return e164[:6] + "****" + e164[-4:]


PHONE_IN_TEXT = None


def mask_phones_in(text: str) -> str:
    """+8613812345678 / 13812345678 → +86138****5678 / 138****5678 in any text."""
    global PHONE_IN_TEXT
    if PHONE_IN_TEXT is None:
        PHONE_IN_TEXT = re.compile(r"(?<![\w.])(\+?\d{3})\d{4,8}(\d{4})(?!\d)")
    return PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def install_log_masking() -> None:
    """Every log record, whoever logs it (our code, SQLAlchemy, gunicorn, RQ) and whichever handler takes it,
    has phone numbers masked: a record factory formats the message once and masks it. Residents' phone
    numbers are private (brief: "phones masked in logs"). Installed once per process."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "gridpatrol_masking", False):
        return

    def masking_factory(*args, **kwargs):
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logger's problem, not ours
            return record
        masked = mask_phones_in(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_phones_in(logging.Formatter().formatException(record.exc_info))
        return record

    masking_factory.gridpatrol_masking = True
    logging.setLogRecordFactory(masking_factory)
