"""Which provider a message leaves through, and how each provider is doing.

- A reply leaves through the provider its text came in on (`OutboundMessage.route`); it never fails over:
  the resident texted that number and expects the answer from it.
- Alerts go through the alerts provider (GRIDPATROL_SMS_ALERTS_BACKEND) and fail over, in configured
  order, while it is down: the Android phone's heartbeat is older than SMS_HEARTBEAT_STALE_SECONDS (10 min),
  or SMS_PROVIDER_DOWN_AFTER (3) provider_down errors came in a row. A down provider is tried again after
  SMS_PROVIDER_RETRY_SECONDS, and a heartbeat or a success brings it back at once.
- The first failover of a down period texts the admins (GRIDPATROL_SMS_ADMIN_PHONES, else every global
  admin's phone) once, through the provider that took over: the outbox key makes "once" hold across workers.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import Assignment, Member, utcnow
from sms.models import PENDING_STATES, OutboundMessage, SmsProviderState
from sms.providers import alerts_name, configured_names, get_provider, main_name, provider_class
from sms.providers.base import PROVIDER_DOWN, SendError

log = logging.getLogger(__name__)

FAILOVER_PURPOSES = {"alert"}


def state_of(session: Session, name: str, *, create: bool = False) -> SmsProviderState | None:
    row = session.get(SmsProviderState, name)
    if row is None and create:
        row = SmsProviderState(provider=name, consecutive_down=0)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = session.get(SmsProviderState, name)
    return row


def down_reason(state: SmsProviderState | None, name: str, config, now: datetime) -> str | None:
    """Why `name` should not be sent through right now, or None when it is (believed) up."""
    if state is None:
        return None
    if provider_class(name).has_heartbeat and state.last_heartbeat_at is not None:
        stale = timedelta(seconds=config.get("SMS_HEARTBEAT_STALE_SECONDS", 600))
        if now - state.last_heartbeat_at > stale:
            return "heartbeat"
    if state.down_since is not None:
        retry = timedelta(seconds=config.get("SMS_PROVIDER_RETRY_SECONDS", 300))
        if now - (state.last_error_at or state.down_since) < retry:
            return "errors"
    return None


def chain(config, message: OutboundMessage) -> list[str]:
    """The providers that may send `message`, in order of preference."""
    if message.route:
        return [message.route]
    if message.purpose in FAILOVER_PURPOSES:
        first = alerts_name(config)
        return [first] + [n for n in configured_names(config) if n != first]
    return [main_name(config)]


def planned_provider(config, purpose: str, route: str | None) -> str:
    """Who is expected to send a new message (shown as queue depth until a worker picks it up)."""
    if route:
        return route
    return alerts_name(config) if purpose in FAILOVER_PURPOSES else main_name(config)


def choose(session: Session, config, message: OutboundMessage, now: datetime) -> tuple[str, list[dict]]:
    """The provider this attempt goes through, and the texts telling the admins of a failover (the first of
    a down period only; the outbox queues them). When every candidate is down the first is tried anyway:
    its error schedules a retry with backoff, and nothing is dropped."""
    candidates = chain(config, message)
    first = candidates[0]
    if len(candidates) == 1:
        return first, []  # a reply, or nowhere else to go: no need to look at the state
    first_down = down_reason(state_of(session, first), first, config, now)
    if not first_down:
        return first, []
    for name in candidates[1:]:
        if not down_reason(state_of(session, name), name, config, now):
            notices = failover_notices(session, config, first, name, first_down, now)
            message.note("failover", at=now, **{"from": first, "to": name, "why": first_down})
            return name, notices
    return first, []


def record_success(session: Session, name: str, now: datetime) -> None:
    """Written only when something changes (or once a minute): every send updating one shared row would
    serialise the workers on its lock."""
    state = state_of(session, name, create=True)
    fresh = state.last_ok_at is not None and now - state.last_ok_at < timedelta(seconds=60)
    if fresh and not state.consecutive_down and state.down_since is None:
        return
    state.last_ok_at = now
    if state.consecutive_down or state.down_since:
        log.warning("sms provider %s is sending again", name)
    state.consecutive_down = 0
    state.down_since = None


def record_error(session: Session, name: str, error: SendError, now: datetime, config) -> None:
    state = state_of(session, name, create=True)
    state.last_error = f"{error.kind}: {error}"[:500]
    state.last_error_kind = error.kind
    state.last_error_at = now
    if error.kind == PROVIDER_DOWN:
        state.consecutive_down = (state.consecutive_down or 0) + 1
        if state.consecutive_down >= config.get("SMS_PROVIDER_DOWN_AFTER", 3) and state.down_since is None:
            state.down_since = now
            log.error("sms provider %s is down after %d provider_down errors", name, state.consecutive_down)


def record_heartbeat(session: Session, name: str, now: datetime, data: dict | None = None) -> None:
    state = state_of(session, name, create=True)
    state.last_heartbeat_at = now
    state.heartbeat = data or {}
    state.down_since = None
    state.consecutive_down = 0


def admin_phones(session: Session, config) -> list[str]:
    raw = config.get("SMS_ADMIN_PHONES") or ""
    phones = [p.strip() for p in (raw.split(",") if isinstance(raw, str) else raw) if p and p.strip()]
    if phones:
        return phones
    return list(session.scalars(select(Member.phone).join(Assignment, Assignment.member_id == Member.id).where(
        Assignment.role == "admin", Assignment.area_id.is_(None), Member.active.is_(True),
        Member.phone.is_not(None)).distinct()))


def failover_notices(session: Session, config, down: str, to: str, why: str, now: datetime) -> list[dict]:
    """The texts (outbox items) telling the admins that alerts now leave through `to`, once per down period:
    the outbox key makes "once" hold across workers."""
    state = state_of(session, down, create=True)
    since = state.down_since or (state.last_heartbeat_at or now)
    if state.admin_notified_at is not None and state.admin_notified_at >= since:
        return []
    state.admin_notified_at = now
    reason = "手机心跳超过10分钟未收到" if why == "heartbeat" else "连续发送失败"
    body = f"短信通道{down}不可用（{reason}），告警已改由{to}发送。请检查网关手机或服务商账户。"
    stamp = since.strftime("%Y%m%dT%H%M")
    log.error("sms provider %s down (%s): alerts fail over to %s", down, why, to)
    return [{"to": phone, "body": body, "key": f"failover:{down}:{stamp}:{phone}", "purpose": "system",
             "route": to, "params": {"template": "provider_failover", "vars": {"down": down, "to": to}}}
            for phone in admin_phones(session, config)]


def provider_states(session: Session, app, details: bool = True) -> list[dict]:
    """Each configured provider's state for /healthz, /api/v1/workers/health and `gridpatrol sms status`.
    Without `details` (the public /healthz, anyone but a global admin): up or down, why, and the queue —
    never the provider's address, sender number or last error text, which name internal hosts and SIMs."""
    config = app.config
    now = utcnow()
    depth = dict(session.execute(select(OutboundMessage.provider, func.count()).where(
        OutboundMessage.state.in_(PENDING_STATES)).group_by(OutboundMessage.provider)).all())
    out = []
    for name in configured_names(config):
        state = state_of(session, name)
        roles = [r for r, n in (("main", main_name(config)), ("alerts", alerts_name(config))) if n == name]
        try:
            info = get_provider(app, name).health()
        except Exception as exc:  # noqa: BLE001 - a status view reports, never raises
            info = {"configured": False, "error": str(exc)}
        why = down_reason(state, name, config, now)
        out.append({
            "name": name, "roles": roles or ["failover"], "up": why is None, "down_reason": why,
            "queue_depth": int(depth.get(name, 0)),
            "last_heartbeat_at": _iso(state.last_heartbeat_at) if state else None,
            "last_ok_at": _iso(state.last_ok_at) if state else None,
            "last_error": state.last_error if state else None,
            "last_error_at": _iso(state.last_error_at) if state else None,
            "down_since": _iso(state.down_since) if state else None, **{"provider": info}})
        if not details:
            del out[-1]["provider"], out[-1]["last_error"]
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
