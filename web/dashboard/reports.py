"""周报: a sub-district's week — problems by category, the 8-week trend, coverage by community, the ranking
with scores — with CSV/XLSX downloads and "生成本周周报".

Every figure comes from core.domain.weekly_reports (build_report / store_report, the stored WeeklyReport rows) and the
files from core.domain.report_files: this page draws, it never recounts. Who may read and produce a report is decided
as in the reports API, by core.domain.weekly_reports.may_read_report / require_may_generate (the permission table's
reports rows).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
import time as _time

from flask import Response, flash, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from core.domain.access import can
from core.domain.areas import ancestor_of_kind
from core.domain.audit import record as audit_record
from core.domain.errors import Forbidden, Invalid, NotFound
from core.db import db
from core.models import Area, Category
from web.dashboard.charts import bar_chart, line_chart
from web.dashboard.common import CHANNEL, lang, leader, local_today, make_blueprint, page, roots_of, t
from core.models.alerts import WeeklyReport
from core.domain.weekly_reports import build_report, may_read_report, require_may_generate, store_report
from core.domain.report_files import to_csv, to_xlsx

bp = make_blueprint("dashboard_reports", __name__, "/reports")
TREND_WEEKS = 8


def readable_subdistricts(principal) -> list[Area]:
    return [a for a in db.session.scalars(select(Area).where(Area.kind == "subdistrict", Area.deleted_at.is_(None))
                                          .order_by(Area.code)) if may_read_report(principal, a)]


def _subdistrict(principal, code: str | None) -> tuple[Area, list[Area]]:
    choices = readable_subdistricts(principal)
    if code:
        area = db.session.scalar(select(Area).where(Area.code == code.strip().upper()[:32]))
        if area is None or area.kind != "subdistrict":
            raise NotFound(f"no sub-district {code}", details={"area": [f"Unknown sub-district {code}."]})
        if not may_read_report(principal, area):
            raise Forbidden(f"{area.code} is outside your areas", code="out_of_scope")
        return area, choices
    for root in roots_of(principal):
        found = root if root.kind == "subdistrict" else ancestor_of_kind(db.session, root, "subdistrict")
        if found is not None:
            return found, choices
    if not choices:
        raise Forbidden("no sub-district's report is within your areas", code="out_of_scope")
    return choices[0], choices


def _day(raw: str | None, area: Area) -> date:
    if raw:
        try:
            return date.fromisoformat(raw.strip()[:10])
        except ValueError:
            raise Invalid("day is not a date", details={"day": ["Use YYYY-MM-DD."]}) from None
    latest = db.session.scalar(select(WeeklyReport.week_end).where(WeeklyReport.area_id == area.id)
                               .order_by(WeeklyReport.week_end.desc()).limit(1))
    return latest or local_today()


CACHE_SECONDS = 300
_built: dict[tuple[int, str], tuple[float, dict]] = {}


def _build_cached(area: Area, day: date) -> dict:
    """core.domain.weekly_reports.build_report for a week not stored yet, kept a few minutes per process: the page, the
    trend and the downloads of one visit ask for the same weeks, and each build reads a fortnight of windows."""
    key = (area.id, day.isoformat())
    hit = _built.get(key)
    if hit is not None and _time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = build_report(db.session, area, day, datetime.now(timezone.utc))
    if len(_built) > 512:
        _built.clear()
    _built[key] = (_time.monotonic(), data)
    return data


def report_data(area: Area, day: date) -> tuple[dict, WeeklyReport | None]:
    """The stored report of that week when there is one, else the same report built now (not stored)."""
    stored = db.session.scalar(select(WeeklyReport).where(WeeklyReport.area_id == area.id,
                                                         WeeklyReport.week_end == day))
    if stored is not None:
        return stored.data, stored
    return _build_cached(area, day), None


def trend(area: Area, day: date) -> list[tuple[str, dict]]:
    """The sub-district totals of the last TREND_WEEKS weeks, oldest first (stored reports where kept)."""
    days = [day - timedelta(days=7 * k) for k in range(TREND_WEEKS - 1, -1, -1)]
    stored = {r.week_end: r.data for r in db.session.scalars(
        select(WeeklyReport).where(WeeklyReport.area_id == area.id, WeeklyReport.week_end.in_(days)))}
    return [((d - timedelta(days=7)).strftime("%m/%d"), (stored.get(d) or _build_cached(area, d))["total"]["current"])
            for d in days]


def trend_chart(area: Area, day: date):
    """Counts and coverage on separate axes: a percentage beside a handful of problems flattens the counts."""
    weeks = trend(area, day)
    labels = [label for label, _ in weeks]
    counts = line_chart(labels, [(t("问题数"), [m["incidents"] for _, m in weeks]),
                                 (t("逾期"), [m["overdue"] for _, m in weeks]),
                                 (t("上报上级"), [m["escalations"] for _, m in weeks])], title=t("近 8 周趋势"))
    coverage = line_chart(labels, [(t("覆盖率%"), [None if m["coverage"] is None else round(m["coverage"] * 100, 1)
                                                   for _, m in weeks])], title=t("巡查覆盖率"))
    return Markup(f'<div class="grid2">{counts}{coverage}</div>')


@bp.route("/trend")
def trend_fragment():
    """The 8-week line chart, loaded after the page (static/report.js): eight weeks cost more than one."""
    principal = leader()
    area, _ = _subdistrict(principal, request.args.get("area"))
    return str(trend_chart(area, _day(request.args.get("day"), area)))


@bp.route("")
def index():
    principal = leader()
    area, choices = _subdistrict(principal, request.args.get("area"))
    day = _day(request.args.get("day"), area)
    data, stored = report_data(area, day)
    names = {c.code: (c.name_en if lang() == "en" else c.name_zh) for c in db.session.scalars(select(Category))}
    by_category = sorted(data["total"]["current"]["by_category"].items(), key=lambda kv: (-kv[1], kv[0]))
    category_chart = bar_chart([(names.get(code, code), n) for code, n in by_category], title=t("各类问题数"), unit="")
    coverage_chart = bar_chart([(row["name"], None if row["current"]["coverage"] is None
                                 else round(row["current"]["coverage"] * 100, 1))
                                for row in data["communities"]], title=t("各社区巡查覆盖率"), unit="%", max_value=100)
    may_generate = can(principal, "create", "reports", area)
    return page("reports.html", area=area, choices=choices, day=day, data=data, stored=stored,
                category_chart=category_chart, coverage_chart=coverage_chart,
                may_generate=may_generate, names=names, today=local_today(),
                prev_day=(day - timedelta(days=7)).isoformat(), next_day=(day + timedelta(days=7)).isoformat())


@bp.route("/download")
def download():
    principal = leader()
    area, _ = _subdistrict(principal, request.args.get("area"))
    day = _day(request.args.get("day"), area)
    data, _ = report_data(area, day)
    fmt = request.args.get("format", "xlsx")
    name = f"weekly-{area.code}-{day.isoformat()}"
    if fmt == "csv":
        return Response(to_csv(data), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(to_xlsx(data), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.route("/generate", methods=["POST"])
def generate():
    """生成本周周报: store (or rebuild) this week's report through core.domain.weekly_reports.store_report."""
    principal = leader()
    area, _ = _subdistrict(principal, request.form.get("area"))
    require_may_generate(principal, area)
    day = local_today()
    report, _ = store_report(db.session, area, day, datetime.now(timezone.utc), replace=True)
    audit_record(db.session, "report.generate", channel=CHANNEL, actor=principal.member, entity="weekly_report",
                 entity_id=report.id, summary={"area": area.code, "week_end": day.isoformat()})
    db.session.commit()
    flash(t("周报已生成"), "ok")
    return redirect(url_for("dashboard_reports.index", area=area.code, day=day.isoformat()))
