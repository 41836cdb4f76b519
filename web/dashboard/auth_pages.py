"""登录 / 退出 / 修改密码 / 语言: the dashboard's sign-in through the same function as POST /api/v1/auth/login
(core.domain.logins: the password check under the per-phone throttle, audit entries); signing out ends
the sign-in on the server; the current password on 修改密码 is checked under the same throttle."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, flash, redirect, request, session, url_for

from core.domain.audit import record as audit_record
from core.domain.logins import FAILURE_WINDOW, TooManyFailures, confirm_password, log_in
from core.domain.members import set_password
from core.domain.errors import Invalid, Unauthorized
from core.db import db
from web.dashboard.common import CHANNEL, current_leader, leader, make_blueprint, page, sign_in, sign_out, t

bp = make_blueprint("dashboard_auth", __name__, public=("login", "language"))


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no scheme, no host): the sign-in form must not become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("dashboard_overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, phone_text, status = None, "", 200
    if request.method == "POST":
        phone_text = (request.form.get("phone") or "").strip()[:40]
        try:
            member = log_in(db.session, phone_text, (request.form.get("password") or "")[:200],
                            region=current_app.config["GRIDPATROL_PHONE_REGION"], channel=CHANNEL)
        except TooManyFailures:
            error, status = t("登录失败次数过多，请 {minutes} 分钟后再试", minutes=_minutes()), 429
        except Unauthorized:
            error, status = t("手机号或密码错误"), 401
        else:
            sign_in(member)
            audit_record(db.session, "auth.login", channel=CHANNEL, actor=member, entity="session",
                         entity_id=member.id)
            db.session.commit()
            return redirect(_safe_next(request.form.get("next")))
    return page("login.html", error=error, phone=phone_text, next=request.values.get("next", "")), status


def _minutes() -> int:
    return int(FAILURE_WINDOW.total_seconds() // 60)


@bp.route("/logout", methods=["POST"])
def logout():
    principal = current_leader()
    sign_out()
    if principal is not None:
        audit_record(db.session, "auth.logout", channel=CHANNEL, actor=principal.member, entity="session",
                     entity_id=principal.member.id)
    db.session.commit()
    flash(t("已退出"), "ok")
    return redirect(url_for("dashboard_auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    principal = leader()
    member = principal.member
    if request.method == "POST":
        current, new, again = (request.form.get(k, "")[:200] for k in ("current", "new", "again"))
        try:
            confirm_password(db.session, member, current, channel=CHANNEL)
        except TooManyFailures:
            flash(t("登录失败次数过多，请 {minutes} 分钟后再试", minutes=_minutes()), "error")
            return page("password.html", member=member), 429
        except Invalid:
            flash(t("当前密码不对"), "error")
            return page("password.html", member=member), 400
        if new != again:
            flash(t("两次输入的新密码不一致"), "error")
        else:
            try:
                set_password(member, new)
            except Invalid as exc:
                flash(t("新密码至少 8 个字符"), "error")
                return page("password.html", member=member), exc.status
            audit_record(db.session, "member.password_change", channel=CHANNEL, actor=member, entity="member",
                         entity_id=member.id)
            sign_in(member)  # the new fingerprint keeps this browser in and signs the others out
            db.session.commit()
            flash(t("密码已修改"), "ok")
            return redirect(url_for("dashboard_overview.index"))
    return page("password.html", member=member)


@bp.route("/lang/<code>")
def language(code):
    if code in ("zh", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
