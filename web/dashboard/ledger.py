"""台账: the ledger of pollution-source points (loose-coal users and others), their stove counts and status,
each point's inspection history, recording an inspection, and the XLSX export (every cell through
core.domain.spreadsheets, the one writer that keeps synced text from becoming a formula).

Statuses and kinds are the ledger's own (core.models.SITE_STATUSES / SITE_KINDS); an inspection goes
through core.domain.sites.inspect_site, allowed by the permission table's sites/inspect row (as the API).
"""
from __future__ import annotations

import io

from flask import Response, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.domain.access import can, require, scope_filter
from core.domain.audit import record as audit_record
from core.domain.sites import get_site, inspect_site
from core.domain.errors import DomainError
from core.db import db
from core.domain.spreadsheets import append_row
from core.models import SITE_KINDS, SITE_STATUSES, Area, Site, SiteInspection
from web.dashboard.common import (CHANNEL, breadcrumb, children_of, flash_error, focus_area, leader, local,
                                  make_blueprint, page, t)

bp = make_blueprint("dashboard_ledger", __name__, "/ledger")
MAX_ROWS = 500

STATUS_ZH = {"identified": "已排查", "rectified_gas": "已整改·煤改气", "rectified_electric": "已整改·煤改电",
             "rectified_clean_coal": "已整改·洁净煤", "cleared": "已清零"}
KIND_ZH = {"coal_user": "散煤户", "construction": "工地", "burning_point": "焚烧点", "restaurant": "餐饮",
           "industrial": "工业", "key_site": "重点点位", "other": "其他"}


def _query(principal, focus: Area, args):
    statement = (select(Site).join(Area, Area.id == Site.area_id)
                 .where(Site.deleted_at.is_(None), Area.path.startswith(focus.path),
                        scope_filter(principal, "sites", Area.path))
                 .options(joinedload(Site.area)).order_by(Area.code, Site.name))
    status, kind = (args.get("status") or "").strip(), (args.get("kind") or "").strip()
    if status in SITE_STATUSES:
        statement = statement.where(Site.status == status)
    if kind in SITE_KINDS:
        statement = statement.where(Site.kind == kind)
    q = (args.get("q") or "").strip()[:50]
    if q:
        statement = statement.where(Site.address.contains(q, autoescape=True) | Site.name.contains(q, autoescape=True))
    return statement, {"status": status if status in SITE_STATUSES else "", "kind": kind if kind in SITE_KINDS else "",
                       "q": q}


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    statement, filters = _query(principal, focus, request.args)
    sites = db.session.scalars(statement.limit(MAX_ROWS + 1)).all()
    totals = {"sites": len(sites[:MAX_ROWS]), "stoves": sum(s.stove_count for s in sites[:MAX_ROWS])}
    return page("ledger.html", sites=sites[:MAX_ROWS], truncated=len(sites) > MAX_ROWS, filters=filters, focus=focus,
                crumbs=breadcrumb(principal, focus), children=children_of(focus), endpoint="dashboard_ledger.index",
                extra={k: v for k, v in filters.items() if v}, totals=totals, STATUS_ZH=STATUS_ZH, KIND_ZH=KIND_ZH)


def _scoped(principal, site_id: str) -> Site:
    site = get_site(db.session, site_id[:36])
    require(principal, "read", "sites", site.area, what="view")
    return site


@bp.route("/<site_id>")
def detail(site_id):
    principal = leader()
    site = _scoped(principal, site_id)
    inspections = db.session.scalars(select(SiteInspection).where(SiteInspection.site_id == site.id)
                                     .order_by(SiteInspection.at.desc())).all()
    may_inspect = can(principal, "inspect", "sites", site.area)
    return page("site.html", site=site, inspections=inspections, may_inspect=may_inspect, STATUS_ZH=STATUS_ZH,
                KIND_ZH=KIND_ZH)


@bp.route("/<site_id>/inspect", methods=["POST"])
def inspect(site_id):
    principal = leader()
    site = _scoped(principal, site_id)
    try:
        require(principal, "inspect", "sites", site.area, what="inspect sites")
        inspection = inspect_site(db.session, site, status_after=request.form.get("status_after", ""),
                                  member=principal.member, note=(request.form.get("note") or "")[:2000])
        audit_record(db.session, "site.inspect", channel=CHANNEL, actor=principal.member, entity="site",
                     entity_id=site.id, summary={"inspection_id": inspection.id,
                                                 "status_after": inspection.status_after})
        db.session.commit()
        flash(t("已记录检查"), "ok")
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    return redirect(url_for("dashboard_ledger.detail", site_id=site.id))


@bp.route("/export.xlsx")
def export():
    # local: openpyxl loads only for an .xlsx file
    from openpyxl import Workbook
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    statement, _ = _query(principal, focus, request.args)
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    append_row(sheet, ["社区/网格 area", "代码 code", "名称 name", "地址 address", "类型 kind", "炉具数 stoves",
                       "状态 status", "最近检查 last inspected", "备注 notes"])
    for site in db.session.scalars(statement):
        append_row(sheet, [site.area.name, site.area.code, site.name, site.address, KIND_ZH.get(site.kind, site.kind),
                           site.stove_count, STATUS_ZH.get(site.status, site.status),
                           local(site.last_inspected_at, "%Y-%m-%d %H:%M") if site.last_inspected_at else "",
                           site.notes])
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="ledger-{focus.code}.xlsx"'})
