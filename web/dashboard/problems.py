"""问题: the problem list (filters, keyset pages), the detail with its history, and the leader's actions.

Every action calls the same core.domain.incidents function as the JSON API, after the same permission
check (core.domain.access.can_act_on_incident); the event is written with channel "web". The list pages by
keyset (reported_at, id) so page 2,000 costs what page 1 does on 100,000 incidents.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from core.domain import incidents as rules
from core.domain.access import can, can_act_on_incident
from core.domain.audit import record as audit_record
from core.domain.errors import DomainError, Forbidden, Invalid, NotFound
from core.db import db
from core.models import HANDLING_CLASSES, OPEN_STATUSES, STATUSES, Area, Category, Incident, IncidentEvent
from web.dashboard.common import (CHANNEL, breadcrumb, children_of, flash_error, focus_area, lang, leader,
                                  local_midnight_utc, make_blueprint, page, t)

bp = make_blueprint("dashboard_problems", __name__, "/problems")
PAGE_SIZE = 50

STATUS_ZH = {"open": "待受理", "in_progress": "处理中", "resolved": "已办结", "closed": "已关闭", "rejected": "已驳回",
             "duplicate": "重复"}
CLASS_ZH = {"immediate": "即办", "reported": "上报", "committed": "承诺"}
EVENT_ZH = {"created": "上报问题", "note": "备注", "handled": "办结", "escalated": "上报上级", "acknowledged": "受理",
            "reassigned": "转派", "status_change": "状态变更", "deadline_alert": "逾期提醒"}
SOURCE_ZH = {"patrol": "巡查发现", "patroller_sms": "网格员短信", "resident_sms": "居民短信举报", "volunteer": "志愿者",
             "staff": "工作人员"}
CHANNEL_ZH = {"api": "接口", "device": "手机", "sms": "短信", "worker": "系统", "cli": "命令行", "web": "网页"}
FIELD_ZH = {"category": "类别", "description": "描述", "location_text": "地点", "latitude": "纬度", "longitude": "经度",
            "handling_class": "办理类型", "promised_date": "承诺日期"}  # corrections (更正) in the history
# (action, Chinese label, permission in access.ACT_ON_INCIDENT)
ACTIONS = [("acknowledge", "受理", "acknowledge"), ("handle", "办结", "handle"), ("escalate", "上报", "escalate"),
           ("flag", "挂牌督办", "escalate"), ("close", "关闭", "close"), ("reject", "驳回", "reject"),
           ("duplicate", "标记重复", "reject"), ("note", "备注", "note")]


def _policy() -> dict:
    return {"policy": current_app.config.get("DEADLINE_POLICY") or None,
            "default_tz": current_app.config["GRIDPATROL_TIMEZONE"]}


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} is not a date", details={name: ["Use YYYY-MM-DD."]}) from None


def _cursor(raw: str | None):
    if not raw:
        return None
    at, _, ident = raw.partition("_")
    try:
        return datetime.fromisoformat(at).astimezone(timezone.utc), ident
    except ValueError:
        raise Invalid("bad page cursor", details={"after": ["Follow the 下一页 link."]}) from None


SMALL_SUBTREE = 5000  # area ids listed literally up to here (index lookups); a subquery beyond


def list_statement(principal, focus: Area, args) -> tuple:
    """The scoped, filtered list query, newest first, and the filters as understood.

    Scope is the API's rule (found in, or now the responsibility of, an area the leader reads): `focus_area`
    has checked the focus is hers, and her roles reach its whole subtree, so the subtree is the scope."""
    if not can(principal, "read", "incidents", focus):
        raise Forbidden(f"your role may not read problems in {focus.code}", code="role_not_permitted")
    now = datetime.now(timezone.utc)
    statement = select(Incident).where(Incident.deleted_at.is_(None))
    whole_tree = principal.is_global_admin and focus.parent_id is None and db.session.scalar(
        select(func.count()).select_from(Area).where(Area.parent_id.is_(None))) == 1
    small = False
    if not whole_tree:
        ids = db.session.scalars(select(Area.id).where(Area.path.startswith(focus.path)).limit(SMALL_SUBTREE + 1)).all()
        small = len(ids) <= SMALL_SUBTREE
        subtree = ids if small else select(Area.id).where(Area.path.startswith(focus.path))
        statement = statement.where(or_(Incident.area_id.in_(subtree), Incident.responsible_area_id.in_(subtree)))
    f = {k: (args.get(k) or "").strip() for k in ("status", "category", "handling_class", "overdue", "flagged")}
    if f["status"] == "active":
        statement = statement.where(Incident.status.in_(OPEN_STATUSES))
    elif f["status"] in STATUSES:
        statement = statement.where(Incident.status == f["status"])
    if f["category"].isdigit():
        statement = statement.where(Incident.category_id == int(f["category"][:9]))
    if f["handling_class"] in HANDLING_CLASSES:
        statement = statement.where(Incident.handling_class == f["handling_class"])
    if f["overdue"] == "1":
        statement = statement.where(Incident.status.in_(OPEN_STATUSES), Incident.deadline < now)
    if f["flagged"] == "1":
        statement = statement.where(Incident.flagged.is_(True))
    since, until = _date("since"), _date("until")
    if since:
        statement = statement.where(Incident.reported_at >= local_midnight_utc(since))
    if until:
        statement = statement.where(Incident.reported_at < local_midnight_utc(until + timedelta(days=1)))
    f.update(since=since.isoformat() if since else "", until=until.isoformat() if until else "")
    # A filtered page of a small subtree is found through the area indexes and sorted (a few thousand rows at
    # most): walking the reported_at index backwards would read most of the city's problems to fill it. The
    # expression keeps the planner off that index; unfiltered pages and big subtrees walk it.
    selective = small and any(f.values())
    newest = func.coalesce(Incident.reported_at, Incident.reported_at) if selective else Incident.reported_at
    return statement.order_by(newest.desc(), Incident.id.desc()), f


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    statement, filters = list_statement(principal, focus, request.args)
    cursor = _cursor(request.args.get("after"))
    if cursor:
        at, ident = cursor
        statement = statement.where(or_(Incident.reported_at < at,
                                        and_(Incident.reported_at == at, Incident.id < ident)))
    rows = db.session.scalars(statement.limit(PAGE_SIZE + 1)
                              .options(joinedload(Incident.category), joinedload(Incident.area),
                                       joinedload(Incident.responsible_area))).unique().all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_after = f"{rows[-1].reported_at.isoformat()}_{rows[-1].id}" if more else None
    query = {k: v for k, v in filters.items() if v}
    categories = db.session.scalars(select(Category).where(Category.deleted_at.is_(None))
                                    .order_by(Category.number)).all()
    return page("problems.html", rows=rows, filters=filters, query=query, focus=focus, next_after=next_after,
                first_page=cursor is None, categories=categories, crumbs=breadcrumb(principal, focus),
                children=children_of(focus), endpoint="dashboard_problems.index", extra=query,
                now=datetime.now(timezone.utc), STATUS_ZH=STATUS_ZH, CLASS_ZH=CLASS_ZH,
                detail_base=url_for("dashboard_problems.index") + "/")


def find(ref: str) -> Incident:
    ref = ref.strip()[:40]
    incident = db.session.get(Incident, ref) if len(ref) == 36 else rules.find_by_ticket(db.session, ref)
    if incident is None or incident.deleted_at is not None:
        raise NotFound(f"no problem {ref}", details={"ticket": [f"No problem with ticket {ref}."]})
    return incident


def _readable(principal, incident: Incident) -> None:
    if not (can(principal, "read", "incidents", incident.area)
            or can(principal, "read", "incidents", incident.responsible_area)):
        raise Forbidden(f"problem {incident.ticket} is outside your areas", code="out_of_scope")


def allowed_actions(principal, incident: Incident) -> list[tuple[str, str]]:
    """The actions the leader's role allows on this problem in its current state."""
    out = []
    status = incident.status
    state_ok = {"acknowledge": status in OPEN_STATUSES and incident.acknowledged_at is None,
                "handle": rules.can_transition(status, "resolved"), "escalate": status in OPEN_STATUSES,
                "flag": status in OPEN_STATUSES and not incident.flagged,
                "close": rules.can_transition(status, "closed"), "reject": rules.can_transition(status, "rejected"),
                "duplicate": rules.can_transition(status, "duplicate"), "note": True}
    for action, label, permission in ACTIONS:
        if not state_ok[action]:
            continue
        try:
            can_act_on_incident(principal, incident, permission)
        except Forbidden:
            continue
        out.append((action, label))
    return out


@bp.route("/<ref>")
def detail(ref):
    principal = leader()
    incident = find(ref)
    _readable(principal, incident)
    events = db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                                .order_by(IncidentEvent.at, IncidentEvent.id)).all()
    area_ids = {e.from_area_id for e in events} | {e.to_area_id for e in events}
    areas = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_([i for i in area_ids if i])))}
    duplicate_of = db.session.get(Incident, incident.duplicate_of_id) if incident.duplicate_of_id else None
    shown = {"category": {c.code: (c.name_en if lang() == "en" else c.name_zh)
                          for c in db.session.scalars(select(Category))},
             "handling_class": CLASS_ZH}  # how a correction's before and after read
    return page("problem.html", incident=incident, events=events, areas=areas,
                actions=allowed_actions(principal, incident),
                now=datetime.now(timezone.utc), duplicate_of=duplicate_of, STATUS_ZH=STATUS_ZH, CLASS_ZH=CLASS_ZH,
                EVENT_ZH=EVENT_ZH, CHANNEL_ZH=CHANNEL_ZH, SOURCE_ZH=SOURCE_ZH, FIELD_ZH=FIELD_ZH, shown=shown,
                can_see_phone=principal.is_global_admin)


def perform(principal, incident: Incident, action: str, note: str, duplicate_ref: str = ""):
    """Run one action through the domain rules; returns the event written."""
    permission = {a: p for a, _, p in ACTIONS}.get(action)
    if permission is None:
        known = ", ".join(key for key, _, _ in ACTIONS)
        raise Invalid(f"unknown action {action!r}", details={"action": [f"One of {known}."]})
    can_act_on_incident(principal, incident, permission)
    actor = principal.member
    if action == "acknowledge":
        return rules.acknowledge(db.session, incident, channel=CHANNEL, actor=actor, note=note)
    if action == "handle":
        return rules.handle(db.session, incident, channel=CHANNEL, actor=actor, note=note)
    if action in ("escalate", "flag"):
        return rules.escalate(db.session, incident, channel=CHANNEL, actor=actor, reason=note, flag=action == "flag",
                              **_policy())
    if action == "close":
        return rules.transition(db.session, incident, "closed", channel=CHANNEL, actor=actor, note=note)
    if action == "reject":
        return rules.transition(db.session, incident, "rejected", channel=CHANNEL, actor=actor, note=note)
    if action == "duplicate":
        # Same steps as POST /api/v1/incidents/<ref>/reject with duplicate_of.
        if not duplicate_ref.strip():
            raise Invalid("name the problem this one repeats", details={"duplicate_of": ["Give its ticket number."]})
        original = find(duplicate_ref)
        _readable(principal, original)
        return rules.mark_duplicate(db.session, incident, original, channel=CHANNEL, actor=actor, note=note)
    return rules.add_note(db.session, incident, note, channel=CHANNEL, actor=actor)


@bp.route("/<ref>/act", methods=["POST"])
def act(ref):
    principal = leader()
    incident = find(ref)
    action = request.form.get("action", "")
    note = (request.form.get("note") or "")[:5000]
    try:
        event = perform(principal, incident, action, note, request.form.get("duplicate_of", "")[:40])
        db.session.flush()
        audited = {"duplicate": "reject", "flag": "escalate"}.get(action, action)
        audit_record(db.session, f"incident.{audited}",
                     channel=CHANNEL, actor=principal.member, entity="incident", entity_id=incident.id,
                     summary={"ticket": incident.ticket, "status": incident.status, "event_id": event.id,
                              "flagged": incident.flagged})
        db.session.commit()
        flash(t("已{label}", label=t({key: label for key, label, _ in ACTIONS}[action])), "ok")
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    return redirect(url_for("dashboard_problems.detail", ref=incident.ticket))
