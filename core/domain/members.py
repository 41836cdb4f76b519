"""The roster: members, their phones and their role assignments.

Assignments are validated as a whole list so a bad row leaves the member unchanged; the error names the
row (`assignments.<index>.<field>`) the way a clerk would look for it.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.domain.errors import Conflict, Invalid, NotFound
from core.domain.phones import normalize_phone, try_normalize_phone
from core.models import Area, Assignment, LEADER_ROLE_FOR_KIND, LEADER_ROLES, Member, ROLES, utcnow
from core.models import PairingCode, StaffToken

MIN_PASSWORD_LENGTH = 8


def get_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id) if 0 < member_id < 2 ** 31 else None
    if member is None or member.deleted_at is not None:
        raise NotFound(f"no member with id {member_id}", details={"id": [f"Unknown member id {member_id}."]})
    return member


def member_by_phone(session: Session, phone_e164: str) -> Member | None:
    return session.scalar(select(Member).where(Member.phone == phone_e164))


def member_by_typed_phone(session: Session, typed: str, region: str) -> Member:
    """The member holding a phone an operator typed (any way the region reads it), for the CLI commands;
    NotFound names the number in E.164. Whether a removed or deactivated member will do is the caller's rule."""
    e164 = normalize_phone(typed, region)
    member = member_by_phone(session, e164)
    if member is None:
        raise NotFound(f"no member with phone {e164}; import the roster first")
    return member


def _check_phone_free(session: Session, phone: str, member: Member | None = None) -> None:
    holder = member_by_phone(session, phone)
    if holder is not None and holder is not member:
        # No name, no id: a 409 must not tell an area admin who is behind a phone in another district.
        raise Conflict(f"phone {phone} already belongs to another member", code="duplicate_phone",
                       details={"phone": [f"{phone} already belongs to another member."]})


def removed_member_with_phone(session: Session, phone: str, region: str = "CN") -> Member | None:
    """The removed member a new member with this phone would bring back, if any (None for a bad phone)."""
    e164 = try_normalize_phone(phone, region)
    holder = member_by_phone(session, e164) if e164 else None
    return holder if holder is not None and holder.deleted_at is not None else None


def revoke_credentials(session: Session, member: Member, now=None) -> None:
    """Every way to act as this member stops for good: staff tokens, devices, pairing codes not yet redeemed
    (reactivating her brings none of them back)."""
    now = now or utcnow()
    session.execute(update(PairingCode).where(PairingCode.member_id == member.id, PairingCode.redeemed_at.is_(None),
                                              PairingCode.expires_at > now).values(expires_at=now))
    for device in member.devices:
        if device.revoked_at is None:
            device.revoked_at = now
    for token in session.scalars(select(StaffToken).where(StaffToken.member_id == member.id,
                                                          StaffToken.revoked_at.is_(None))):
        token.revoked_at = now


def validate_assignments(session: Session, items: list[dict]) -> list[tuple[str, Area | None, int]]:
    """Check role, area and rank of every row; return (role, area, rank) or raise Invalid for all bad rows."""
    errors: dict[str, dict[str, list[str]]] = {}
    result, seen = [], set()
    for index, item in enumerate(items):
        row: dict[str, list[str]] = {}
        role, area_id, rank = item.get("role"), item.get("area_id"), item.get("rank", 1)
        area = None
        if area_id is None and item.get("area_code"):
            area = session.scalar(select(Area).where(Area.code == item["area_code"].strip().upper()))
            if area is None or area.deleted_at is not None:
                row["area_code"] = [f"Unknown area code {item['area_code']!r}."]
                area = None
            else:
                area_id = area.id
        if role not in ROLES:
            row["role"] = [f"Must be one of {', '.join(ROLES)}."]
        if area_id is not None:
            area = session.get(Area, area_id)
            if area is None or area.deleted_at is not None:
                row["area_id"] = [f"Unknown area id {area_id}."]
                area = None
        elif role != "admin" and "area_code" not in row:
            row["area_id"] = ["Only an admin may be assigned without an area."]
        if area is not None and role in LEADER_ROLES and LEADER_ROLE_FOR_KIND.get(area.kind) != role:
            expected = LEADER_ROLE_FOR_KIND.get(area.kind)
            row["role"] = [f"{area.code} is a {area.kind}; its leaders take the role "
                           f"{expected or '(none: no leader role for this kind)'}."]
        key = (role, area_id)
        if key in seen:
            row.setdefault("role", []).append("The same role in the same area is listed twice.")
        seen.add(key)
        if row:
            errors[str(index)] = row
        else:
            result.append((role, area, rank))
    if errors:
        raise Invalid("some assignments are not valid", details={"assignments": errors})
    return result


def replace_assignments(session: Session, member: Member, items: list[dict]) -> None:
    rows = validate_assignments(session, items)
    member.assignments.clear()
    session.flush()  # the unique (member, area, role) constraint must not see old and new rows at once
    for role, area, rank in rows:
        member.assignments.append(Assignment(role=role, area_id=area.id if area else None, rank=rank))


NAME_MAX = 100  # Member.name is VARCHAR(100)


def member_name(name: str | None, field: str = "name") -> str:
    """A person's name as stored: trimmed, not blank, at most NAME_MAX characters (PostgreSQL would refuse
    a longer one mid-write; SQLite would keep it). Blank or overlong → Invalid on `field`."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise Invalid("a name is needed", details={field: ["Give the person's name; it must not be blank."]})
    if len(cleaned) > NAME_MAX:
        raise Invalid("name too long", details={field: [f"At most {NAME_MAX} characters."]})
    return cleaned


def create_member(session: Session, *, name: str, phone: str, region: str = "CN", locale: str = "zh",
                  active: bool = True, assignments: list[dict] | None = None, sms_pin: str | None = None) -> Member:
    """Add a member. A phone that belonged to a removed member brings that record back (same id, so old
    patrols and incidents stay hers) with the new name, locale and assignments; see `revived`."""
    name = member_name(name)
    e164 = normalize_phone(phone, region)
    holder = member_by_phone(session, e164)
    if holder is not None and holder.deleted_at is not None:
        holder.deleted_at = None
        member = holder
        # A new person with a recycled number: nothing of the removed member's access survives.
        revoke_credentials(session, member)
        member.password_hash = None
        member.name, member.locale, member.active = name, locale, active
        member.revived = True  # plain attribute for the caller (audit), not stored
    else:
        _check_phone_free(session, e164)
        member = Member(name=name, phone=e164, locale=locale, active=active)
        session.add(member)
        member.revived = False
    replace_assignments(session, member, assignments or [])
    set_sms_pin(member, sms_pin)
    session.flush()
    return member


def set_sms_pin(member: Member, pin: str | None) -> None:
    """The PIN staff SMS commands must end with (None: caller id alone, the default); stored hashed."""
    member.sms_pin_hash = generate_password_hash(pin) if pin else None


def update_member(session: Session, member: Member, changes: dict, region: str = "CN") -> Member:
    if "phone" in changes:
        e164 = normalize_phone(changes["phone"], region)
        _check_phone_free(session, e164, member)
        member.phone = e164
    if changes.get("active") is False and member.active:
        revoke_credentials(session, member)  # deactivation revokes for good; reactivating brings nothing back
    for key in ("name", "locale", "active"):
        if key in changes:
            setattr(member, key, member_name(changes[key]) if key == "name" else changes[key])
    if "assignments" in changes:
        replace_assignments(session, member, changes["assignments"])
    if "sms_pin" in changes:
        set_sms_pin(member, changes["sms_pin"])
    session.flush()
    return member


def deactivate_member(session: Session, member: Member) -> None:
    """Members are never erased (their names stay on incidents and patrols); they stop working."""
    now = utcnow()
    member.active = False
    member.deleted_at = now
    revoke_credentials(session, member, now)


def set_password(member: Member, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password too short",
                      details={"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    member.password_hash = generate_password_hash(password)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(generate_password_hash("not-a-password"))
    return _DUMMY[0]


def check_password(member: Member | None, password: str) -> bool:
    if member is None or not member.password_hash or not member.active or member.deleted_at is not None:
        # Same work either way so response time does not reveal which phones exist.
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(member.password_hash, password)
