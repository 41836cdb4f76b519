"""人员与网格: the area tree, members and their roles, devices, pairing a new phone (a one-time code, its link
and QR, through core.domain.pairing), setting a member's password (admins), and the roster import (dry run
shown row by row with errors by line, then commit).

Member visibility and admin rights are the domain's (core.domain.scoping, as for the API); the import is
core.domain.roster.import_roster, the same function the CLI and POST /api/v1/roster/import call.
"""
from __future__ import annotations


from flask import current_app, flash, make_response, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from core.domain.scoping import require_authority_over_member
from core.domain.access import scope_filter
from core.domain.audit import record as audit_record
from core.domain.members import get_member, set_password
from core.domain.pairing import issue_pairing_code, may_pair, pairing_qr_svg
from core.domain.phones import mask_phone
from core.domain import roster_uploads
from core.domain.roster import import_roster, resolve_parent
from core.domain.roster_files import read_roster
from core.domain.errors import DomainError, Invalid
from core.db import db
from core.models import Area, Assignment, Member
from web.dashboard.common import (CHANNEL, breadcrumb, children_of, flash_error, focus_area, leader, make_blueprint,
                                  page, t)

bp = make_blueprint("dashboard_people", __name__, "/people")
PAGE_SIZE = 100
ROLE_ZH = {"patroller": "网格员", "grid_leader": "网格组长", "community_leader": "社区负责人",
           "subdistrict_leader": "街道负责人", "district_leader": "区负责人", "supervisor": "督查员", "admin": "管理员",
           "volunteer": "志愿者"}
MAX_UPLOAD = 2 * 1024 * 1024


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    children = children_of(focus)
    member_counts = dict(db.session.execute(
        select(Area.id, func.count(func.distinct(Assignment.member_id)))
        .join(Assignment, Assignment.area_id == Area.id).where(Area.id.in_([c.id for c in children] + [focus.id]))
        .group_by(Area.id)).all()) if children or focus else {}
    try:
        page_no = max(1, min(int(request.args.get("page", "1")), 10000))
    except ValueError:
        page_no = 1
    whole_tree = principal.is_global_admin and focus.parent_id is None and db.session.scalar(
        select(func.count()).select_from(Area).where(Area.parent_id.is_(None))) == 1
    in_focus = Member.id.isnot(None) if whole_tree else exists(
        select(Assignment.id).join(Area, Area.id == Assignment.area_id).where(
            Assignment.member_id == Member.id, Area.path.startswith(focus.path),
            scope_filter(principal, "members", Area.path)))
    members = db.session.scalars(select(Member).where(in_focus, Member.deleted_at.is_(None))
                                 .order_by(Member.name, Member.id)
                                 .offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
                                 .options(selectinload(Member.assignments).joinedload(Assignment.area),
                                          selectinload(Member.devices))).all()
    more = len(members) > PAGE_SIZE
    is_admin = "admin" in principal.roles_over(focus)
    pairable = {m.id for m in members[:PAGE_SIZE] if m.active and may_pair(principal, m)}
    return page("people.html", focus=focus, crumbs=breadcrumb(principal, focus), children=children,
                endpoint="dashboard_people.index", extra={}, members=members[:PAGE_SIZE], more=more, page_no=page_no,
                member_counts=member_counts, ROLE_ZH=ROLE_ZH, is_admin=is_admin, pairable=pairable,
                show_phone=True, mask=mask_phone)  # members are colleagues; residents' numbers stay masked (短信)


@bp.route("/members/<int:member_id>/password", methods=["POST"])
def set_member_password(member_id):
    principal = leader()
    member = get_member(db.session, member_id)
    try:
        require_authority_over_member(principal, member, "create", "credentials", "set passwords")
        set_password(member, request.form.get("password", "")[:200])
        audit_record(db.session, "member.password_set", channel=CHANNEL, actor=principal.member, entity="member",
                     entity_id=member.id)
        db.session.commit()
        flash(t("已为 {name} 设置密码", name=member.name), "ok")
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    return redirect(_back())


def _back() -> str:
    back = request.form.get("back") or ""
    return back if back.startswith("/dashboard/") else url_for("dashboard_people.index")


@bp.route("/members/<int:member_id>/pair", methods=["POST"])
def pair_phone(member_id):
    """配对新手机: a one-time code (24 h) for the member, shown once as the code, the link and its QR. The
    answer is the page itself (no redirect), so the code is never stored anywhere but as its hash."""
    principal = leader()
    member = get_member(db.session, member_id)
    try:
        issued = issue_pairing_code(db.session, member, actor=principal, channel=CHANNEL)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(_back())
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    link = base + issued.path
    response = make_response(page("pair.html", member=member, issued=issued, link=link,
                                  qr=Markup(pairing_qr_svg(link, scale=6)), back=_back(), ROLE_ZH=ROLE_ZH))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/roster", methods=["GET", "POST"])
def roster():
    """GET: the upload form. POST: a dry run of the uploaded sheet; the file is kept (privately, for a while:
    core.domain.roster_uploads) so the commit step imports exactly the rows that were checked."""
    principal = leader()
    parent_code = (request.values.get("parent") or "").strip()[:32]
    if request.method == "GET":
        return page("roster.html", parent=parent_code or focus_area(principal, None).code, report=None, table=None)
    parent = resolve_parent(db.session, parent_code or None)
    principal.require_admin(parent, "import a roster")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("choose a roster file", details={"file": ["Choose a CSV or XLSX file."]})
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Invalid("file too large", details={"file": ["At most 2 MB."]})
    table = read_roster(data, upload.filename)
    report = import_roster(db.session, table, parent, commit=False, channel=CHANNEL, actor=principal.member,
                           region=current_app.config["GRIDPATROL_PHONE_REGION"], principal=principal)
    db.session.rollback()
    token = roster_uploads.keep(current_app.config["INSTANCE_PATH"], data, upload.filename)
    errors_by_line: dict[int, list[dict]] = {}
    for error in report["errors"]:
        errors_by_line.setdefault(error["line"], []).append(error)
    return page("roster.html", parent=parent.code, report=report, table=table, errors_by_line=errors_by_line,
                token=token, ROLE_ZH=ROLE_ZH)


@bp.route("/roster/commit", methods=["POST"])
def roster_commit():
    principal = leader()
    parent = resolve_parent(db.session, (request.form.get("parent") or "").strip()[:32] or None)
    principal.require_admin(parent, "import a roster")
    token = request.form.get("token", "")
    data, name = roster_uploads.take(current_app.config["INSTANCE_PATH"], token,
                                     current_app.config["ROSTER_UPLOAD_TTL_MINUTES"])
    table = read_roster(data, name)
    try:
        report = import_roster(db.session, table, parent, commit=True, channel=CHANNEL, actor=principal.member,
                               region=current_app.config["GRIDPATROL_PHONE_REGION"], principal=principal)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("dashboard_people.roster", parent=parent.code))
    roster_uploads.discard(current_app.config["INSTANCE_PATH"], token)
    created = report.get("created") or {}
    flash(t("花名册已导入：新增社区 {c} 个、网格 {g} 个、人员 {m} 人", c=len(created.get("communities", [])),
            g=len(created.get("grids", [])), m=len(created.get("members", []))), "ok")
    return redirect(url_for("dashboard_people.index", area=parent.code))
