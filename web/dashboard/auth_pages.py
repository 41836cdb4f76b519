"""登录 / 退出 / 修改密码 / 语言: the dashboard's session sign-in, on the same rules as POST /api/v1/auth/login
(password check, the per-phone throttle of failed attempts, audit entries)."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, flash, redirect, request, session, url_for

from server.api.auth import LOGIN_FAILURE_WINDOW, LOGIN_MAX_FAILURES, recent_login_failures
from core.domain.audit import record as audit_record
from core.domain.members import check_password, member_by_phone, set_password
from core.domain.phones import mask_phone, try_normalize_phone
from core.domain.errors import Invalid
from core.db import db
from web.dashboard.common import CHANNEL, leader, make_blueprint, page, sign_in, t

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
        password = (request.form.get("password") or "")[:200]
        phone = try_normalize_phone(phone_text, current_app.config["GRIDPATROL_PHONE_REGION"]) if phone_text else None
        if phone and recent_login_failures(db.session, phone) >= LOGIN_MAX_FAILURES:
            minutes = int(LOGIN_FAILURE_WINDOW.total_seconds() // 60)
            error, status = t("登录失败次数过多，请 {minutes} 分钟后再试", minutes=minutes), 429
        else:
            member = member_by_phone(db.session, phone) if phone else None
            if check_password(member, password):
                sign_in(member)
                audit_record(db.session, "auth.login", channel=CHANNEL, actor=member, entity="session",
                             entity_id=member.id)
                db.session.commit()
                return redirect(_safe_next(request.form.get("next")))
            if phone:
                audit_record(db.session, "auth.login_failed", channel=CHANNEL, actor_label=mask_phone(phone),
                             entity="phone", entity_id=phone)
                db.session.commit()
            error, status = t("手机号或密码错误"), 401
    return page("login.html", error=error, phone=phone_text, next=request.values.get("next", "")), status


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash(t("已退出"), "ok")
    return redirect(url_for("dashboard_auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    principal = leader()
    member = principal.member
    if request.method == "POST":
        current, new, again = (request.form.get(k, "") for k in ("current", "new", "again"))
        if not check_password(member, current):
            flash(t("当前密码不对"), "error")
        elif new != again:
            flash(t("两次输入的新密码不一致"), "error")
        else:
            try:
                set_password(member, new)
            except Invalid as exc:
                flash(t("新密码至少 8 个字符"), "error")
                return page("password.html", member=member), exc.status
            audit_record(db.session, "member.password_change", channel=CHANNEL, actor=member, entity="member",
                         entity_id=member.id)
            db.session.commit()
            sign_in(member)  # the new fingerprint keeps this browser in and signs the others out
            flash(t("密码已修改"), "ok")
            return redirect(url_for("dashboard_overview.index"))
    return page("password.html", member=member)


@bp.route("/lang/<code>")
def language(code):
    if code in ("zh", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
