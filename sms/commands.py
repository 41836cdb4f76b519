"""What each SMS command does, through the same domain functions the API and device sync use.

A handler takes a `Context` (session, sender, member, principal, parsed command, now) and returns an
`Outcome` (the reply text, an outcome code for the inbound log, and a result dict for triage). Domain
errors (not permitted, illegal transition, top level) become replies here; nothing raises to the webhook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain import incidents as incident_rules
from core.domain.access import Principal, can, can_act_on_incident, roles_for
from core.domain.areas import area_by_code, effective_timezone
from core.settings import DomainSettings
from core.domain.errors import Conflict, Forbidden, IllegalTransition
from core.models import LEADER_ROLES, Area, Category, Incident, Member, Patrol
from sms import BARE_ACK_HANDLERS
from sms import templates as t
from sms.outbox import opt_in, opt_out
from sms.parser import STAFF_COMMANDS, ParsedCommand, guess_category
from sms.pin import check_pin, needs_pin
from core.domain.patrol_calendar import window_containing
from core.domain.patrols import create_patrol
from core.domain.schedules import effective_schedule
from sms.reference_cache import cached as _cached, clear_caches  # noqa: F401 (clear_caches: tests)
from sms.understanding import store
from sms.understanding.resolve import interpret

PATROL_ROLES = set(roles_for("patrols", "create"))  # the permission table's row (core/domain/access.py)
STAFF_ROLE_NAMES = {"patroller", *LEADER_ROLES, "supervisor", "admin"}


@dataclass
class Context:
    session: Session
    sender: str
    member: Member | None
    parsed: ParsedCommand
    now: datetime
    config: dict
    principal: Principal | None = None
    pin: str | None = None  # the `*4821` suffix of a staff command, when the member has an SMS PIN

    @property
    def lang(self) -> str:
        """A registered member's own locale (short Latin codes are quicker to type on an old phone, not
        a wish for English); otherwise Chinese unless the text was Latin-only."""
        if self.member is not None and self.member.locale in ("zh", "en"):
            return self.member.locale
        return self.parsed.language

    @property
    def settings(self) -> DomainSettings:
        return DomainSettings.from_config(self.config)

    @property
    def is_staff(self) -> bool:
        return self.member is not None and bool(set(self.member.roles) & STAFF_ROLE_NAMES)


@dataclass
class Outcome:
    reply: str
    outcome: str = "ok"
    error_code: str | None = None
    result: dict = field(default_factory=dict)
    area_id: int | None = None


def _fail(ctx: Context, template: str, error_code: str, outcome: str = "error", **values) -> Outcome:
    return Outcome(t.render(template, ctx.lang, **values), outcome=outcome, error_code=error_code)


def _example_grid(ctx: Context) -> str:
    """Examples use a grid the sender actually patrols, so they can be copied."""
    for assignment in (ctx.member.assignments if ctx.member else []):
        if assignment.area is not None and assignment.area.kind == "grid":
            return assignment.area.code
    return "HD03-1-1"


def _missing(ctx: Context, what: str, command: str) -> Outcome:
    shape, example = t.form(command, ctx.lang, _example_grid(ctx))
    return _fail(ctx, "missing", f"missing_{what}", what=t.word(what, ctx.lang), form=shape, example=example)


def _local(ctx: Context, area: Area, when: datetime, fmt: str) -> str:
    tz = effective_timezone(ctx.session, area, ctx.settings.timezone)
    return when.astimezone(ZoneInfo(tz)).strftime(fmt)


def _category(ctx: Context, number: int | None) -> Category | None:
    session = ctx.session
    if number is not None:
        category = session.scalar(select(Category).where(Category.number == number, Category.active.is_(True)))
        if category is not None:
            return category
    return session.scalar(select(Category).where(Category.code == "other")) or session.scalar(
        select(Category).order_by(Category.number).limit(1))


def find_grid(session: Session, code: str | None) -> Area | None:
    """Exact code first, then ignoring dashes (HD0311 → HD03-1-1) when that is unambiguous."""
    if not code:
        return None
    area = area_by_code(session, code)
    if area is not None:
        return area
    squashed = re.sub(r"[^0-9A-Z]", "", code.upper())
    if not squashed:
        return None
    rows = session.scalars(select(Area).where(
        func.upper(func.replace(Area.code, "-", "")) == squashed).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def locate_resident_report(session: Session, text: str, config: dict) -> Area | None:
    """Where a resident's text is about: a grid code in it, else the deepest area whose name it
    mentions, else the configured intake area, else the top of the tree."""
    for word in re.findall(r"[a-z]{1,4}\d[\w\-]*", text):
        area = find_grid(session, word)
        if area is not None:
            return area
    best: tuple[int, int, int | None] = (-1, 0, None)
    for depth, area_id, name in _area_names(session):
        if name in text and (depth, len(name)) > best[:2]:
            best = (depth, len(name), area_id)
    if best[2] is not None:
        area = session.get(Area, best[2])
        if area is not None:
            return area
    intake = config.get("SMS_INTAKE_AREA_CODE")
    if intake:
        area = area_by_code(session, intake)
        if area is not None:
            return area
    return session.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.id).limit(1))


# ---------------------------------------------------------------- everyone

def do_report(ctx: Context) -> Outcome:
    p = ctx.parsed
    if p.error == "missing_text":
        return _missing(ctx, "text", "report")
    if p.error == "unknown_category":
        return _fail(ctx, "unknown_category", "unknown_category", word=p.category_word or "")
    understood = p.understanding or {}
    category = _category_by_code(ctx, understood.get("category")) or _category(ctx, p.category)
    area, routed_by = _report_area(ctx, understood)
    if category is None or area is None:
        return _fail(ctx, "system_error", "not_configured")
    if p.record_id:
        existing = ctx.session.get(Incident, p.record_id)
        if existing is not None and existing.reporter_phone == ctx.sender:
            return _report_reply(ctx, existing, replayed=True)
        if existing is not None:
            p.record_id = None  # someone else's record id: a new report, never that incident's ticket
    mentions = (understood.get("place") or {}).get("mentions") or []
    text = p.text or p.normalized
    incident = incident_rules.create_incident(
        ctx.session, category=category, area=area, channel="sms",
        source="patroller_sms" if ctx.is_staff else "resident_sms",
        handling_class="immediate" if routed_by == "intake" else "reported",
        description=text, location_text=("；".join(mentions) or text)[:300],
        reporter=ctx.member, reporter_phone=ctx.sender, incident_id=p.record_id, now=ctx.now,
        **ctx.settings.incident_kwargs())
    if routed_by == "intake":
        # Nobody knows where it is yet: the intake area itself sorts it out, under the 上报 deadline.
        incident.handling_class = "reported"
        for event in incident.events:
            event.data = {**(event.data or {}), "handling_class": "reported", "intake": True}
        tz = _cached(ctx.session, f"timezone:{area.id}", lambda: effective_timezone(
            ctx.session, area, ctx.settings.timezone))
        incident.deadline = incident_rules.compute_deadline("reported", area.kind, ctx.now, tz,
                                                            policy=ctx.settings.deadline_policy or None)
    store.record(ctx.session, incident, understood, p.normalized, routed_by)
    return _report_reply(ctx, incident, routed_by=routed_by)


def _category_by_code(ctx: Context, code: str | None) -> Category | None:
    if not code:
        return None
    return ctx.session.scalar(select(Category).where(Category.code == code, Category.active.is_(True)))


def _report_area(ctx: Context, understood: dict) -> tuple[Area | None, str]:
    """A grid code in the text; else the deepest area the gazetteer found; else the intake area."""
    text = ctx.parsed.text or ctx.parsed.normalized
    for word in re.findall(r"[a-z]{1,4}\d[\w\-]*", text):
        area = find_grid(ctx.session, word)
        if area is not None:
            return area, "grid"
    place = understood.get("place") or {}
    found = None
    if place.get("area_id"):
        found = ctx.session.get(Area, place["area_id"])
    elif "place" not in understood:  # not understood (a staff report, an explicit 举报 without place lookup)
        found = locate_resident_report(ctx.session, text, ctx.config)
    intake = store.intake_area(ctx.session, ctx.config)[0]
    # A place no more precise than the intake area ("澄江区", the sub-district's own name) goes to intake:
    # a report is never filed at a level the intake area's leaders cannot see.
    if found is not None and not (intake is not None and intake.path.startswith(found.path)):
        return found, "gazetteer"
    return intake, "intake"


def _report_reply(ctx: Context, incident: Incident, replayed: bool = False, routed_by: str = "") -> Outcome:
    name = t.category_name(incident.category, ctx.lang)
    handler = incident.area if routed_by != "intake" else incident.responsible_area
    reply = t.render("report_ok_area", ctx.lang, ticket=incident.ticket, category=name,
                     area=t.area_name(handler, ctx.lang))
    if t.too_long(reply):
        reply = t.render("report_ok", ctx.lang, ticket=incident.ticket, category=name)
    understood = ctx.parsed.understanding or {}
    return Outcome(reply,
                   result={"ticket": incident.ticket, "incident_id": incident.id, "category": incident.category.code,
                           "guessed": not ctx.parsed.explicit or "confidence" in understood, "replayed": replayed,
                           "area": incident.area.code, "routed_by": routed_by,
                           "needs_triage": bool(understood.get("needs_triage"))},
                   area_id=incident.area_id)


def do_query(ctx: Context) -> Outcome:
    p = ctx.parsed
    if p.error:
        return _missing(ctx, "ticket", "query")
    if p.ticket is None:  # "我上次举报的处理了吗", a bare 查询: the sender's latest ticket
        incident = ctx.session.scalar(select(Incident).where(Incident.reporter_phone == ctx.sender)
                                      .order_by(Incident.reported_at.desc()).limit(1))
        if incident is None:
            return Outcome(t.render("query_none", ctx.lang), outcome="ok", error_code="no_tickets")
        p.ticket = incident.ticket
    incident = incident_rules.find_by_ticket(ctx.session, p.ticket)
    visible = incident is not None and (
        incident.reporter_phone == ctx.sender
        or (ctx.principal is not None and (can(ctx.principal, "read", "incidents", incident.area)
                                           or can(ctx.principal, "read", "incidents", incident.responsible_area))))
    if not visible:
        shape, example = t.form("query", ctx.lang)
        return _fail(ctx, "ticket_not_found", "ticket_not_found", ticket=p.ticket, form=shape, example=example)
    level = incident.responsible_level if incident.responsible_level != "grid" else "grid_level"
    return Outcome(t.render("query_status", ctx.lang, ticket=incident.ticket,
                            category=t.category_name(incident.category, ctx.lang),
                            status=t.word(incident.status, ctx.lang), level=t.word(level, ctx.lang)),
                   result={"ticket": incident.ticket, "status": incident.status}, area_id=incident.area_id)


def do_help(ctx: Context) -> Outcome:
    return Outcome(t.render("help_staff" if ctx.is_staff else "help", ctx.lang), outcome="help")


def do_chat(ctx: Context) -> Outcome:
    return Outcome(t.render("chat", ctx.lang), outcome="help")


def do_spam(ctx: Context) -> Outcome:
    return Outcome(t.render("spam", ctx.lang), outcome="help", error_code="spam")


def do_stop(ctx: Context) -> Outcome:
    opt_out(ctx.session, ctx.sender, source="keyword", now=ctx.now)
    return Outcome(t.render("stop_ok", ctx.lang), outcome="opted_out")


def do_start(ctx: Context) -> Outcome:
    was_out = opt_in(ctx.session, ctx.sender)
    return Outcome(t.render("start_ok", ctx.lang), outcome="opted_in", result={"was_opted_out": was_out})


# ---------------------------------------------------------------- patrollers and leaders

def _grid_or_error(ctx: Context, command: str) -> Area | Outcome:
    p = ctx.parsed
    if p.error == "missing_grid":
        return _missing(ctx, "grid", command)
    area = find_grid(ctx.session, p.grid)
    if area is None:
        shape, example = t.form(command, ctx.lang, _example_grid(ctx))
        return _fail(ctx, "unknown_grid", "unknown_grid", grid=p.grid, form=shape, example=example)
    try:
        ctx.principal.require(area, PATROL_ROLES, command)
    except Forbidden:
        return _fail(ctx, "out_of_scope", "out_of_scope", outcome="not_permitted", area=area.code)
    return area


def current_window(session: Session, area: Area, now: datetime, tz: str) -> str | None:
    """The schedule window the check-in falls in ("08:00-12:00"), "" when outside every window, None
    when the grid has no schedule. Each local day asks for the schedule governing that day (a winter
    campaign, the everyday one, …); windows that cross midnight count from yesterday's too."""
    if effective_schedule(session, area)[0] is None:
        return None
    window = window_containing(lambda day: effective_schedule(session, area, day)[0], now, tz)
    return f"{window['start']}-{window['end']}" if window else ""


def do_patrol(ctx: Context) -> Outcome:
    area = _grid_or_error(ctx, "patrol")
    if isinstance(area, Outcome):
        return area
    p = ctx.parsed
    patrol = ctx.session.get(Patrol, p.record_id) if p.record_id else None
    if patrol is not None and patrol.member_id != ctx.member.id:
        patrol, p.record_id = None, None  # another member's record id: never replay (or reveal) it
    if patrol is None:
        patrol = create_patrol(ctx.session, member=ctx.member, area=area, started_at=ctx.now, ended_at=ctx.now,
                               outcome="all_clear" if p.all_clear else "problems_found",
                               problem_count=p.problems or 0, source="sms", notes=p.text or "",
                               patrol_id=p.record_id)
    outcome = t.word("all_clear", ctx.lang) if patrol.outcome == "all_clear" else \
        t.word("problems", ctx.lang, n=patrol.problem_count)
    tz = effective_timezone(ctx.session, area, ctx.settings.timezone)
    window = current_window(ctx.session, area, patrol.started_at, tz)
    template = {None: "patrol_ok", "": "patrol_ok_outside"}.get(window, "patrol_ok_window")
    return Outcome(t.render(template, ctx.lang, grid=area.code, outcome=outcome, window=window or "",
                            time=patrol.started_at.astimezone(ZoneInfo(tz)).strftime("%H:%M")),
                   result={"patrol_id": patrol.id, "grid": area.code, "problems": patrol.problem_count,
                           "window": window},
                   area_id=area.id)


def do_found(ctx: Context) -> Outcome:
    p = ctx.parsed
    if p.error in ("missing_grid", "missing_category"):
        return _missing(ctx, p.error.removeprefix("missing_"), "found")
    area = _grid_or_error(ctx, "found")
    if isinstance(area, Outcome):
        return area
    if p.error == "unknown_category":
        return _fail(ctx, "unknown_category", "unknown_category", word=p.category_word or "")
    if p.error == "missing_days":
        return _missing(ctx, "days", "found")
    max_days = ctx.config.get("MAX_PROMISE_DAYS", 30)
    if p.days and p.days > max_days:
        return _fail(ctx, "promise_too_long", "promise_too_long", count=max_days)
    incident = ctx.session.get(Incident, p.record_id) if p.record_id else None
    if incident is not None and incident.reporter_member_id != ctx.member.id:
        incident, p.record_id = None, None  # another member's record id: never replay (or reveal) it
    if incident is None:
        tz = effective_timezone(ctx.session, area, ctx.settings.timezone)
        promised = (ctx.now.astimezone(ZoneInfo(tz)).date() + timedelta(days=p.days)) if p.days else None
        incident = incident_rules.create_incident(
            ctx.session, category=_category(ctx, p.category), area=area, channel="sms", source="patroller_sms",
            handling_class=p.handling or "reported", description=p.text, promised_date=promised,
            reporter=ctx.member, reporter_phone=ctx.sender, incident_id=p.record_id, now=ctx.now,
            **ctx.settings.incident_kwargs())
    return Outcome(t.render("found_ok", ctx.lang, ticket=incident.ticket, grid=area.code,
                            category=t.category_name(incident.category, ctx.lang),
                            handling=t.word(incident.handling_class, ctx.lang),
                            deadline=_local(ctx, incident.responsible_area, incident.deadline, "%m-%d %H:%M")),
                   result={"ticket": incident.ticket, "incident_id": incident.id,
                           "handling_class": incident.handling_class}, area_id=area.id)


def _incident_or_error(ctx: Context, command: str, action: str) -> Incident | Outcome:
    p = ctx.parsed
    if p.error:
        return _missing(ctx, "ticket", command)
    incident = incident_rules.find_by_ticket(ctx.session, p.ticket)
    if incident is None:
        shape, example = t.form(command, ctx.lang)
        return _fail(ctx, "ticket_not_found", "ticket_not_found", ticket=p.ticket, form=shape, example=example)
    try:
        can_act_on_incident(ctx.principal, incident, action)
    except Forbidden:
        return _fail(ctx, "out_of_scope", "out_of_scope", outcome="not_permitted",
                     area=incident.responsible_area.code)
    return incident


def _ticket_action(ctx: Context, command: str, action: str, run) -> Outcome:
    incident = _incident_or_error(ctx, command, action)
    if isinstance(incident, Outcome):
        return incident
    try:
        values = run(incident)
    except IllegalTransition:
        return _fail(ctx, "illegal_state", "illegal_transition", ticket=incident.ticket,
                     status=t.word(incident.status, ctx.lang), action=t.word(command, ctx.lang))
    except Conflict:
        return _fail(ctx, "at_top_level", "at_top_level", ticket=incident.ticket,
                     area=incident.responsible_area.name)
    template = {"handle": "handle_ok", "escalate": "escalate_ok", "ack": "ack_ok"}[command]
    return Outcome(t.render(template, ctx.lang, ticket=incident.ticket, **(values or {})),
                   result={"ticket": incident.ticket, "status": incident.status,
                           "responsible_area": incident.responsible_area.code}, area_id=incident.area_id)


def do_handle(ctx: Context) -> Outcome:
    def run(incident):
        incident_rules.handle(ctx.session, incident, channel="sms", actor=ctx.member, note=ctx.parsed.text,
                              now=ctx.now)
    return _ticket_action(ctx, "handle", "handle", run)


def do_escalate(ctx: Context) -> Outcome:
    def run(incident):
        incident_rules.escalate(ctx.session, incident, channel="sms", actor=ctx.member, reason=ctx.parsed.text,
                                now=ctx.now, **ctx.settings.incident_kwargs())
        ctx.session.flush()
        area = incident.responsible_area
        return {"area": area.name, "deadline": _local(ctx, area, incident.deadline, "%m-%d %H:%M")}
    return _ticket_action(ctx, "escalate", "escalate", run)


def do_ack(ctx: Context) -> Outcome:
    """收到 <ticket> acknowledges that incident; a bare 收到 (what the missed-patrol and overdue alerts ask
    for) acknowledges the sender's recent unanswered alerts, which stops their reminders and escalation."""
    if ctx.parsed.ticket is None and ctx.member is not None:
        for acknowledge_alerts in current_app.extensions.get(BARE_ACK_HANDLERS, []):
            alerts = acknowledge_alerts(ctx.session, ctx.member, now=ctx.now, channel="sms")
            if alerts:
                return Outcome(t.render("ack_alerts_ok", ctx.lang, count=len(alerts)),
                               result={"acknowledged_alerts": [a.key for a in alerts]}, area_id=alerts[0].area_id)

    def run(incident):
        incident_rules.acknowledge(ctx.session, incident, channel="sms", actor=ctx.member, note=ctx.parsed.text,
                                   now=ctx.now)
    return _ticket_action(ctx, "ack", "acknowledge", run)


HANDLERS = {"report": do_report, "query": do_query, "help": do_help, "empty": do_help, "stop": do_stop,
            "chat": do_chat, "spam": do_spam,
            "start": do_start, "patrol": do_patrol, "found": do_found, "handle": do_handle,
            "escalate": do_escalate, "ack": do_ack}


def dispatch(ctx: Context) -> Outcome:
    p = ctx.parsed
    if p.command == "report" and not p.explicit and ctx.is_staff:
        # Staff are expected to use codes; a stray text from them is not silently filed as a report.
        return Outcome(t.render("help_staff", ctx.lang), outcome="error", error_code="unknown_command")
    if needs_pin(ctx.member, p.command):
        # The office requires a PIN for this member: the caller id alone does not prove who is texting.
        verdict = check_pin(ctx.session, ctx.member, ctx.pin, sender=ctx.sender, now=ctx.now, config=ctx.config)
        if verdict != "ok":
            template = "pin_locked" if verdict == "locked" else "pin_required"
            return _fail(ctx, template, template, outcome="not_permitted")
    if p.command in STAFF_COMMANDS and not ctx.is_staff:
        if p.error:  # "A man is burning coal" is a report that happens to start with a code letter
            ctx.parsed = ParsedCommand("report", p.language, explicit=False, normalized=p.normalized,
                                       text=p.normalized, record_id=p.record_id,
                                       category=guess_category(p.normalized, catalogue(ctx.session)))
            return do_report(ctx)
        return _fail(ctx, "not_permitted", "not_permitted", outcome="not_permitted")
    return HANDLERS[p.command](ctx)


def read_text(session: Session, body: str, member: Member | None, config: dict) -> ParsedCommand:
    """The coded grammar, then (for what it does not cover) sms.understanding: intent, category, place."""
    is_staff = member is not None and bool(set(member.roles) & STAFF_ROLE_NAMES)
    return interpret(body, is_staff=is_staff, lexicon=store.lexicon(session), gazetteer=store.gazetteer(session),
                     catalogue=catalogue(session), threshold=float(config.get("SMS_CATEGORY_THRESHOLD") or 0.5),
                     model=store.model(session))


def catalogue(session: Session) -> list[tuple]:
    return _cached(session, "catalogue", lambda: [
        (c.number, c.code, c.name_zh, c.name_en, list(c.keywords or []))
        for c in session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.number))])


def _area_names(session: Session) -> list[tuple[int, int, str]]:
    """(depth, id, name-variant) for every area, for finding the place a resident's text names."""
    def load():
        rows = []
        for area_id, name, depth in session.execute(
                select(Area.id, Area.name, Area.depth).where(Area.deleted_at.is_(None))):
            for variant in {name, re.sub(r"(社区|街道|网格|区|村|镇)$", "", name)}:
                if len(variant) >= 2:
                    rows.append((depth, area_id, variant))
        return rows
    return _cached(session, "area_names", load)
