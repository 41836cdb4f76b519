"""/api/v1/reports: the stored weekly reports as JSON, CSV and XLSX, and producing one on demand.

A report belongs to a sub-district (rows: its communities) or a district (rows: its sub-districts); anyone
with a staff role over it, or over one of its communities or grids (whose ranking it shows, as the printed
tables do), may read it.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from server.api.common import AreaRef, PageArgs, StrictSchema, area_from_ref, documents_errors, page_schema, paginate
from server.http.auth import staff_principal
from core.domain.errors import NotFound
from core.db import db
from core.models import Area, utcnow
from core.models.alerts import WeeklyReport
from core.domain.areas import effective_timezone
from core.domain.report_files import to_csv, to_xlsx
from core.domain.weekly_reports import may_read_report, require_may_generate, send_summaries, store_report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Weekly reports (周报)")


class ReportSummarySchema(Schema):
    id = fields.Integer()
    area_id = fields.Integer()
    week_start = fields.Date()
    week_end = fields.Date()
    created_at = fields.DateTime()


class ReportSchema(ReportSummarySchema):
    data = fields.Dict()


ReportPageSchema = page_schema(ReportSummarySchema, "ReportPage")


class ReportQuery(PageArgs):
    area_id = AreaRef(load_default=None,
                      metadata={"description": "the sub-district or district (id or code, e.g. CJ05, CJ)"})


class FormatQuery(StrictSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class GenerateArgs(StrictSchema):
    area_id = AreaRef(required=True,
                      metadata={"description": "the sub-district or district (id or code, e.g. CJ05, CJ)"})
    report_date = fields.Date(load_default=None, metadata={"description": "local report day (default today)"})
    send_sms = fields.Boolean(load_default=False)


def _get(report_id: int) -> WeeklyReport:
    principal = staff_principal()
    report = db.session.get(WeeklyReport, report_id)
    if report is None or not may_read_report(principal, db.session.get(Area, report.area_id)):
        raise NotFound(f"no weekly report with id {report_id}", details={"report_id": report_id})
    return report


@blp.route("/weekly")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportPageSchema)
@documents_errors(blp, 401, 403)
def list_reports(args):
    principal = staff_principal()
    areas = [a for a in db.session.scalars(select(Area).where(Area.kind.in_(("subdistrict", "district"))))
             if may_read_report(principal, a)]
    query = select(WeeklyReport).where(WeeklyReport.area_id.in_([a.id for a in areas]))
    if args.get("area_id"):
        query = query.where(WeeklyReport.area_id == area_from_ref(args["area_id"], "area_id").id)
    return paginate(query.order_by(WeeklyReport.week_start.desc(), WeeklyReport.id), args, lambda r: r)


def _download(report: WeeklyReport, fmt: str):
    name = f"weekly-{report.data['subdistrict']['code']}-{report.week_end.isoformat()}"
    if fmt == "csv":
        return Response(to_csv(report.data), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(to_xlsx(report.data), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@blp.route("/weekly/<int:report_id>")
@blp.arguments(FormatQuery, location="query")
@blp.response(200, ReportSchema)
@blp.alt_response(200, description="CSV or XLSX when format=csv|xlsx", content_type="text/csv")
@documents_errors(blp, 401, 403, 404)
def get_report(args, report_id):
    report = _get(report_id)
    if args["format"] != "json":
        return _download(report, args["format"])
    return report


@blp.route("/weekly/<int:report_id>.csv")
@blp.response(200, description="the report as CSV (UTF-8 with BOM)", content_type="text/csv")
@documents_errors(blp, 401, 403, 404)
def get_report_csv(report_id):
    return _download(_get(report_id), "csv")


@blp.route("/weekly/<int:report_id>.xlsx")
@blp.response(200, description="the report as an Excel workbook", content_type=XLSX)
@documents_errors(blp, 401, 403, 404)
def get_report_xlsx(report_id):
    return _download(_get(report_id), "xlsx")


@blp.route("/weekly", methods=["POST"])
@blp.arguments(GenerateArgs)
@blp.response(201, ReportSchema)
@documents_errors(blp, 401, 403, 404)
def generate(args):
    """Produce (or rebuild) a sub-district's or district's report now: admin or that area's leader."""
    principal = staff_principal()
    area = area_from_ref(args["area_id"], "area_id")
    if area is None or area.kind not in ("subdistrict", "district"):
        raise NotFound(f"no sub-district or district with id {args['area_id']}", details={"area_id": args["area_id"]})
    require_may_generate(principal, area)
    now = utcnow()
    day: date = args.get("report_date") or now.astimezone(
        ZoneInfo(effective_timezone(db.session, area))).date()
    report, _ = store_report(db.session, area, day, now, replace=True)
    if args.get("send_sms"):
        send_summaries(db.session, report, now)
    db.session.commit()
    return report, 201
