"""Phone numbers: stored in E.164, parsed with the default region (CN), masked in logs."""
from __future__ import annotations

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
