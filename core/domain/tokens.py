"""Bearer tokens for devices and staff: random, shown once, stored as SHA-256.

The tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching needed) and
lets a request find its token with one indexed lookup.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.domain.errors import Invalid
from core.models import Device, Member, StaffToken, utcnow

DEVICE_PREFIX = "gpd_"
STAFF_PREFIX = "gps_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def register_device(session: Session, member: Member, name: str = "",
                    device_id: str | None = None) -> tuple[Device, str]:
    if len(name) > 100:  # Device.name is VARCHAR(100); the API checks this too, the CLI relies on it here
        raise Invalid("device name too long", details={"name": ["At most 100 characters."]})
    token = _new_token(DEVICE_PREFIX)
    device = Device(member=member, name=name, token_hash=hash_token(token), token_prefix=token[:10])
    if device_id:
        device.id = device_id
    session.add(device)
    session.flush()
    return device, token


def issue_staff_token(session: Session, member: Member, name: str = "", expires_at: datetime | None = None
                      ) -> tuple[StaffToken, str]:
    token = _new_token(STAFF_PREFIX)
    record = StaffToken(member=member, name=name, token_hash=hash_token(token), token_prefix=token[:10],
                        expires_at=expires_at)
    session.add(record)
    session.flush()
    return record, token


def find_device(session: Session, token: str) -> Device | None:
    device = session.scalar(select(Device).where(Device.token_hash == hash_token(token)))
    if device is None or device.revoked_at is not None or not device.member.active:
        return None
    return device


def find_staff_token(session: Session, token: str, now: datetime | None = None) -> StaffToken | None:
    record = session.scalar(select(StaffToken).where(StaffToken.token_hash == hash_token(token)))
    now = now or utcnow()
    if record is None or record.revoked_at is not None or not record.member.active:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    return record
