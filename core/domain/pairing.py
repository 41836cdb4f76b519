"""Pairing a phone: a one-time code a person can read out or scan, exchanged once for a device token.

Nobody types a 40-character token into a cheap phone. An operator (CLI `gridpatrol device pair`) or a
leader (the dashboard) issues a short code for a member; the phone opens `/app/pair?code=…` (or the QR of
that link, or types the 8 letters) and the app exchanges it for a device token, which never leaves the
phone. Codes are valid 24 h, work once, and only their SHA-256 is stored (like tokens).

Interface (used by the CLI, the patrol app's exchange endpoint and the leaders' dashboard):

    issue_pairing_code(session, member, *, actor=None, actor_label="", channel="api", now=None)
        -> PairingCode(code, expires_at, path, member_id)
        `actor` is the issuing staff Principal (core.domain.access) — the permission table's devices/pair
        row (leaders, supervisors, admins) over EVERY one of the member's areas, see `may_pair`; None means
        an operator at the shell (the CLI), who is trusted. Audited as `device.pairing_code`. The caller commits.
    redeem_pairing_code(session, code, *, device_name="", client="?", now=None) -> (Device, token)
        Raises NotFound `pairing_code_invalid` (unknown / already used / expired / its member deactivated:
        one answer, no name, so a guesser learns nothing) or TooManyAttempts (429) once `client` (the
        caller's address) has sent WRONG_CODES_ALLOWED wrong codes in WRONG_CODE_WINDOW — counted in the
        database, so the limit holds across processes and servers; a wrong code is committed here. Registers
        the device, marks the code used (a conditional UPDATE, so two phones racing with one code get one
        device). Audited as `device.paired`. The caller commits. Codes not yet redeemed die with the
        member's other credentials when she is deactivated (core.domain.members.revoke_credentials).
    may_pair(actor, member) -> bool           the check above, for pages that offer the action
    pairing_path(code) -> "/app/pair?code=…"
    pairing_qr_svg(url) -> an SVG string of the QR (segno), for pages; pairing_qr_text(url) for terminals.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.domain import audit, ratelimit
from core.domain.scoping import authority_over_member, require_authority_over_member
from core.domain.tokens import register_device
from core.domain.errors import Conflict, DomainError, NotFound
from core.models import Device, Member, utcnow
from core.models.pairing import PairingCode as PairingCodeRow

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed without mistakes
CODE_LENGTH = 8  # 31**8 ≈ 8.5e11 codes; a code lives 24 h and works once
VALID_FOR = timedelta(hours=24)
# Wrong codes per client address (behind a proxy: the address GRIDPATROL_TRUSTED_PROXIES lets through) per
# window, counted in the database so every process and server sees one count: typos pass, guessing does not.
WRONG_CODES_ALLOWED = 20
WRONG_CODE_WINDOW = timedelta(minutes=10)


class TooManyAttempts(DomainError):
    status, code = 429, "too_many_attempts"


class PairingCode(NamedTuple):
    code: str          # "ABCD-EFGH" as shown to people
    expires_at: datetime
    path: str          # "/app/pair?code=ABCDEFGH"
    member_id: int


def normalize_code(text: str) -> str:
    """What people type: lower case, spaces, dashes, a pasted link — reduced to the 8 code letters."""
    raw = (text or "").strip()
    if "code=" in raw:
        raw = raw.split("code=", 1)[1].split("&", 1)[0]
    return "".join(ch for ch in raw.upper() if ch.isalnum())[:64]


def _hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def pairing_path(code: str) -> str:
    return f"/app/pair?code={normalize_code(code)}"


def may_pair(actor, member: Member) -> bool:
    """The permission table's devices/pair row over EVERY assignment the member holds, like every other
    credential (core.domain.scoping.authority_over_member); None is an operator at the shell (the CLI), who
    is trusted. The dashboard asks this to show its button."""
    return actor is None or authority_over_member(actor, member, "pair", "devices")


def issue_pairing_code(session: Session, member: Member, *, actor=None, actor_label: str = "",
                       channel: str = "api", now: datetime | None = None) -> PairingCode:
    if not member.active or member.deleted_at is not None:
        raise Conflict(f"{member.name} is deactivated; a device for them would not work", code="member_inactive")
    if actor is not None:
        require_authority_over_member(actor, member, "pair", "devices", "pair a device")
    now = now or utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    issuer = actor.member if actor is not None else None
    row = PairingCodeRow(code_hash=_hash(code), member_id=member.id, issued_by_id=issuer.id if issuer else None,
                         issued_by_label=(actor_label or (issuer.name if issuer else ""))[:100],
                         expires_at=now + VALID_FOR)
    session.add(row)
    session.flush()
    audit.record(session, "device.pairing_code", channel=channel, actor=issuer, actor_label=actor_label,
                 entity="member", entity_id=member.id, summary={"pairing_code_id": row.id,
                                                                 "expires_at": row.expires_at.isoformat()})
    return PairingCode(f"{code[:4]}-{code[4:]}", row.expires_at, pairing_path(code), member.id)


def redeem_pairing_code(session: Session, code: str, *, device_name: str = "", client: str = "?",
                        now: datetime | None = None) -> tuple[Device, str]:
    now = now or utcnow()
    _take_turn(session, client, now)
    invalid = NotFound("this pairing code is unknown, already used or expired; ask your leader for a new one",
                       code="pairing_code_invalid")
    row = session.scalar(select(PairingCodeRow).where(PairingCodeRow.code_hash == _hash(code))) \
        if len(normalize_code(code)) == CODE_LENGTH else None
    # A deactivated member's code answers like a wrong one: no name, no hint that the code was real.
    if (row is None or row.redeemed_at is not None or row.expires_at <= now or not row.member.active
            or row.member.deleted_at is not None):
        _wrong_code(session, client, now)
        raise invalid
    claimed = session.execute(update(PairingCodeRow).where(PairingCodeRow.id == row.id,
                                                           PairingCodeRow.redeemed_at.is_(None))
                              .values(redeemed_at=now)).rowcount
    if claimed != 1:  # another phone redeemed it between our read and our update
        raise invalid
    member = row.member
    device, token = register_device(session, member, name=(device_name or f"{member.name}的手机")[:100])
    session.execute(update(PairingCodeRow).where(PairingCodeRow.id == row.id).values(device_id=device.id))
    audit.record(session, "device.paired", channel="device", actor=member, entity="device", entity_id=device.id,
                 summary={"member_id": member.id, "pairing_code_id": row.id, "name": device.name})
    return device, token


def _take_turn(session: Session, client: str, now: datetime) -> None:
    """One redemption per client address at a time (a row lock until commit), then the wrong-code limit."""
    ratelimit.serialize(session, f"pair:{client}", now)
    if ratelimit.count(session, f"pair-wrong:{client}", WRONG_CODE_WINDOW, now) >= WRONG_CODES_ALLOWED:
        session.commit()  # nothing to keep; ends the lock at once
        raise TooManyAttempts("too many wrong pairing codes from here; wait 10 minutes and ask your leader for a "
                              "new code", details={"retry_after_seconds": int(WRONG_CODE_WINDOW.total_seconds())})


def _wrong_code(session: Session, client: str, now: datetime) -> None:
    """Counted and committed before the error is raised: the error rolls the caller's session back."""
    ratelimit.hit(session, f"pair-wrong:{client}", WRONG_CODE_WINDOW, now)
    session.commit()


def pairing_qr_svg(url: str, scale: int = 4) -> str:
    # local: the QR code library loads only for a pairing screen
    import segno
    return segno.make(url, error="m").svg_inline(scale=scale)


def pairing_qr_text(url: str) -> str:
    # local: the QR code library loads only for a pairing screen
    import segno
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()
