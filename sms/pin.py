"""The staff SMS PIN: how a text carries it, how it is masked wherever a text is kept, how it is checked.

The caller id alone does not prove who is texting (numbers are spoofed, phones lent), so an office may give a
member a PIN (core.domain.members.set_sms_pin keeps only its hash). Her texts must then end every command
that reads or changes something as her — work codes, ticket queries (查询), opting out (TD) or in — with
` *4821`; only what reads and changes nothing (help, chat) goes without. Wrong PINs are counted per member in
the database (`rate_limits`, key `smspin:<member id>`, so every web and worker process sees one count):
SMS_PIN_MAX_FAILURES (5) wrong PINs in a window of SMS_PIN_LOCK_MINUTES (60) lock her number's PIN-guarded
commands until the window ends, the right PIN included. Each wrong PIN and each refusal while locked is in the
audit log (`sms.pin_wrong`, `sms.pin_locked`; never the digits).

The PIN never rests in clear. Every place a text is kept or logged keeps `mask_pin(body)` (` *****` for the
digits). The office phone's webhook stores a text before any job knows who sent it, and the durable spool
writes it while the database is down; both keep the original only sealed (Fernet from `cryptography`, with a
key derived from GRIDPATROL_SECRET_KEY) until the text is filed, and the filing drops the seal.
"""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from core.domain import ratelimit
from core.domain.audit import record as audit
from core.domain.phones import mask_phone
from core.models import Member, RateLimit

PIN_SUFFIX = re.compile(r"\s*\*\s*(\d{4,8})\s*$")
MASK = " *****"
PIN_FREE_COMMANDS = frozenset({"help", "empty", "chat", "spam"})  # read nothing, change nothing


def split_pin(body: str) -> tuple[str | None, str]:
    """(`4821`, the text without ` *4821`) for a text ending in a PIN; (None, text) otherwise."""
    match = PIN_SUFFIX.search(body or "")
    if not match:
        return None, body
    return match.group(1), body[:match.start()]


def mask_pin(body: str) -> str:
    """The text as it may be kept or logged: a trailing PIN's digits become `*****`."""
    pin, text = split_pin(body)
    return body if pin is None else text + MASK


def _fernet(secret: str):
    # local: cryptography loads only where a PIN-bearing text is sealed or opened
    from cryptography.fernet import Fernet
    key = hashlib.sha256(b"gridpatrol sms pin seal\0" + (secret or "").encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(body: str, secret: str) -> str | None:
    """The original text, encrypted, when it carries a PIN (None when there is nothing to hide)."""
    if split_pin(body)[0] is None:
        return None
    return _fernet(secret).encrypt(body.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None, secret: str) -> str | None:
    """The sealed original, or None (nothing sealed, or sealed under another secret: the text is then filed
    as masked, and a PIN-guarded command asks for the PIN again)."""
    if not sealed:
        return None
    # local: see _fernet
    from cryptography.fernet import InvalidToken
    try:
        return _fernet(secret).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


def needs_pin(member: Member | None, command: str) -> bool:
    return member is not None and bool(member.sms_pin_hash) and command not in PIN_FREE_COMMANDS


def _key(member: Member) -> str:
    return f"smspin:{member.id}"


def check_pin(session: Session, member: Member, pin: str | None, *, sender: str, now: datetime,
              config) -> str:
    """"ok", "missing", "wrong" or "locked" for a PIN-guarded command from `member`'s number. A wrong PIN is
    counted (atomically, in the database) and audited; while locked, the PIN is not even compared."""
    window = timedelta(minutes=int(config.get("SMS_PIN_LOCK_MINUTES") or 60))
    limit = int(config.get("SMS_PIN_MAX_FAILURES") or 5)
    counter = session.execute(select(RateLimit.window_start, RateLimit.count).where(
        RateLimit.key == _key(member))).first()  # plain values: the upsert below bypasses the ORM
    failures = counter.count if counter is not None and \
        counter.window_start == ratelimit.window_start(now, window) else 0
    label = f"sms {mask_phone(sender)}"
    if failures >= limit:
        audit(session, "sms.pin_locked", channel="sms", actor_label=label, entity="member", entity_id=member.id,
              summary={"failures": failures})
        return "locked"
    if pin is None:
        return "missing"
    if check_password_hash(member.sms_pin_hash, pin):
        return "ok"
    failures = ratelimit.hit(session, _key(member), window, now)
    audit(session, "sms.pin_wrong", channel="sms", actor_label=label, entity="member", entity_id=member.id,
          summary={"failures": failures, "locked": failures >= limit})
    return "wrong"
