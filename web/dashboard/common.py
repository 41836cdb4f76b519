"""What every dashboard page shares: the signed-in leader (a session cookie, not a Bearer token), CSRF,
the language switch, the focus area and local times.

The cookie holds the key of a sign-in kept on the server (web.dashboard.sessions: signing out ends it for
every copy of the cookie), the member id and a fingerprint of her password hash, so changing a password
signs out every other browser. Scope is never decided here: pages ask `core.domain.access.Principal`, exactly as
the JSON API does.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from core.domain.access import Principal, roles_for
from core.domain.errors import DomainError, Forbidden, NotFound
from core.db import db
from core.models import Area, Member
from web.dashboard.i18n import translate
from web.dashboard.sessions import end_session, member_of, open_session

CHANNEL = "web"  # incident events and audit entries written from the dashboard
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def password_fingerprint(member: Member) -> str:
    return (member.password_hash or "")[-16:]


def sign_in(member: Member) -> None:
    """A new server-side sign-in for this browser (any earlier one of it is ended first); the caller commits."""
    end_session(db.session, session.get("sid"))
    session.clear()
    session["sid"] = open_session(db.session, member, current_app.permanent_session_lifetime)
    session["member_id"] = member.id
    session["pw"] = password_fingerprint(member)
    session["lang"] = member.locale if member.locale in ("zh", "en") else "zh"
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def sign_out() -> None:
    """End this browser's sign-in on the server (a saved copy of the cookie opens nothing); the caller commits."""
    end_session(db.session, session.get("sid"))
    session.clear()


def current_leader() -> Principal | None:
    """The principal behind the session cookie, or None (not signed in, signed out, expired, removed, or
    password changed)."""
    if "dash_principal" in g:
        return g.dash_principal
    principal = None
    member = member_of(db.session, session.get("sid"))
    if (member is not None and member.id == session.get("member_id") and member.active and member.deleted_at is None
            and hmac.compare_digest(session.get("pw", ""), password_fingerprint(member))):
        principal = Principal.for_member(member, kind="staff")
    g.dash_principal = principal
    return principal


def leader() -> Principal:
    principal = current_leader()
    if principal is None:
        abort(401)
    return principal


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


class CsrfRefused(Forbidden):
    pass


def check_csrf() -> None:
    """Every write (form or fetch) carries the session's token: a form field or the X-CSRF-Token header."""
    if request.method not in WRITE_METHODS:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("the form is missing its security token or it has expired; reload the page and retry",
                          code="csrf_failed")


def _require_sign_in(public: tuple):
    check_csrf()
    if request.endpoint and request.endpoint.split(".")[-1] in public:
        return None
    if current_leader() is None:
        if request.method == "GET":
            return redirect(url_for("dashboard_auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    if not (set(current_leader().member.roles) & roles_for("dashboard", "use")):
        sign_out()
        db.session.commit()
        raise Forbidden("the dashboard is for leaders, supervisors and admins", code="role_not_permitted")
    return None




def make_blueprint(name: str, import_name: str, url_prefix: str = "", public: tuple = ()) -> Blueprint:
    """A page family's blueprint: templates from web/dashboard/templates, sign-in and CSRF before every view,
    domain errors rendered as a page (forms catch them earlier and show them beside the form)."""
    bp = Blueprint(name, import_name, url_prefix="/dashboard" + url_prefix, template_folder="templates")

    @bp.before_request
    def _guard():
        return _require_sign_in(public)

    @bp.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return render_template("dashboard/error.html", error=exc), exc.status

    @bp.errorhandler(401)
    def _unauthorized(_exc):
        return render_template("dashboard/error.html", error=DomainError(
            translate("请先登录", lang()), code="unauthorized")), 401

    return bp


def lang() -> str:
    chosen = session.get("lang")
    return chosen if chosen in ("zh", "en") else current_app.config.get("GRIDPATROL_LOCALE", "zh")


def t(text: str, **values) -> str:
    out = translate(text, lang())
    return out.format(**values) if values else out


def tz_name() -> str:
    return current_app.config["GRIDPATROL_TIMEZONE"]


def local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(tz_name())).strftime(fmt)


def local_today():
    return datetime.now(timezone.utc).astimezone(ZoneInfo(tz_name())).date()


def local_midnight_utc(day) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz_name())).astimezone(timezone.utc)


def roots_of(principal: Principal) -> list[Area]:
    """The areas whose subtrees the leader sees: her assignments' areas, or the top of the tree for a global admin."""
    if principal.is_global_admin:
        return list(db.session.scalars(select(Area).where(Area.parent_id.is_(None), Area.deleted_at.is_(None))
                                       .order_by(Area.code)))
    paths = principal.scope_paths()
    roots = [a.area for a in principal.member.assignments if a.area is not None and a.area.deleted_at is None
             and a.area.path in paths and not any(p != a.area.path and a.area.path.startswith(p) for p in paths)]
    unique = {a.id: a for a in roots}
    return sorted(unique.values(), key=lambda a: a.code)


def focus_area(principal: Principal, code: str | None) -> Area:
    """The area a page looks at: ?area=CODE when it is in the leader's scope, else her first root."""
    if code:
        area = db.session.scalar(select(Area).where(Area.code == code.strip().upper(), Area.deleted_at.is_(None)))
        if area is None:
            raise NotFound(f"no area {code}", details={"area": [f"Unknown area code {code}."]})
        if not principal.in_scope(area):
            raise Forbidden(f"{area.code} is outside your areas", code="out_of_scope", details={"area": area.code})
        return area
    roots = roots_of(principal)
    if not roots:
        raise Forbidden("you hold no role over any area", code="out_of_scope")
    return roots[0]


def breadcrumb(principal: Principal, area: Area) -> list[Area]:
    """The ancestors of `area` that the leader may open, then the area itself."""
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    by_id = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id and principal.in_scope(by_id[i])]


def natural_order():
    """Codes in the order people count them: CJ05-2 before CJ05-10."""
    return (func.length(Area.code), Area.code)


def children_of(area: Area, limit: int = 300) -> list[Area]:
    return list(db.session.scalars(select(Area).where(Area.parent_id == area.id, Area.deleted_at.is_(None))
                                   .order_by(*natural_order()).limit(limit)))


def short_name(name: str, parent_name: str) -> str:
    """映月社区第一网格 under 映月社区 → 第一网格 (the row already says which community)."""
    if parent_name and name.startswith(parent_name) and len(name) > len(parent_name):
        return name[len(parent_name):]
    return name


def page(template: str, **context):
    return render_template(f"dashboard/{template}", **context)


def flash_error(exc: DomainError) -> None:
    detail = ""
    if exc.details:
        parts = []
        for key, value in exc.details.items():
            if isinstance(value, list):
                parts.append(f"{key}: {' '.join(str(v) for v in value)}")
        detail = "; ".join(parts)
    flash(f"{exc.message}" + (f" ({detail})" if detail else ""), "error")


def login_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        leader()
        return view(*args, **kwargs)
    return wrapper
