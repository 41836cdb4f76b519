"""The Thursday weekly report (周报): per community and for the sub-district, this week beside the last.

A report for local date D (the report day) covers [D-7, D) and shows [D-14, D-7) beside it. Per community:
patrol coverage (windows patrolled on time / windows scheduled, from worker_patrol_windows), incidents
found in its grids by category, source and handling class (即办/上报/承诺), resolved within deadline,
overdue, escalations and resident reports.

Score (documented in docs/workers.md, as the offices' assessment tables rank communities):
    score = max(0, 60 × coverage + 40 × on_time_rate − 2 × overdue), one decimal
coverage = patrolled / scheduled — windows from worker_patrol_windows, or straight from the schedules for days
the planner never walked (from the day each schedule was made); nothing scheduled → no score, shown as 无数据
and not ranked; on_time_rate = resolved within deadline /
incidents resolved, overdue or past their deadline (1.0 when none); overdue = incidents of
the week past their deadline unresolved, resolved late, or flagged (挂牌督办: escalated for being overdue).
Ranking: score descending, equal scores share a rank, codes in natural order (CJ05-2 before CJ05-10).

The report climbs community → sub-district → district (the 航海东路 plan): asked for a district, its rows are
its sub-districts, computed by the same _metrics/score/assign_ranks, so a sub-district's row in the district's
report equals that sub-district's own total. Totals count the whole tree, also what is filed at the reported
area itself (a resident text with no place goes to the intake sub-district), so rows can sum to less.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Area, Category, Incident, IncidentEvent
from core import settings
from core.domain.alerts import alert_key, raise_alerts
from core.models.alerts import PatrolWindow, WeeklyReport
from core.domain.recipients import first_leaders
from core.domain.report_coverage import instant as _instant, unplanned_windows
from core.domain.areas import effective_timezone
from core.domain.access import can, readable_scope, roles_for
from core.domain.errors import Forbidden
from core.domain import alert_texts as texts

SCORE_FORMULA = "max(0, 60*coverage + 40*on_time_rate - 2*overdue)"


def may_read_report(principal, area: Area) -> bool:
    """The permission table's reports/read row over the sub-district, or over a part of it (a community
    leader reads the report her community is ranked in). The API and the dashboard both ask this."""
    if can(principal, "read", "reports", area):
        return True
    return any(path.startswith(area.path) for path in readable_scope(principal, "reports"))


def require_may_generate(principal, area: Area) -> None:
    """The reports/create row over the sub-district: an admin or its (or its district's) leader."""
    if not can(principal, "create", "reports", area):
        raise Forbidden(f"only an admin or the leader of {area.code} may produce its report",
                        code="role_not_permitted", details={"roles_allowed": sorted(roles_for("reports", "create"))})


def _empty() -> dict:
    return {"windows_scheduled": 0, "windows_patrolled": 0, "windows_late": 0, "windows_missed": 0,
            "coverage": None, "incidents": 0, "by_category": {}, "by_source": {},
            "by_handling": {"immediate": 0, "reported": 0, "committed": 0}, "resolved": 0,
            "resolved_on_time": 0, "due": 0, "on_time_rate": None, "overdue": 0, "escalations": 0,
            "resident_reports": 0}


def _finish(m: dict) -> dict:
    m["coverage"] = round(m["windows_patrolled"] / m["windows_scheduled"], 4) if m["windows_scheduled"] else None
    m["on_time_rate"] = round(m["resolved_on_time"] / m["due"], 4) if m["due"] else None
    return m


def score(m: dict) -> float | None:
    """None (无数据) when nothing was scheduled: an unscheduled community is not ranked, never first."""
    if m["coverage"] is None:
        return None
    coverage = m["coverage"]
    on_time = 1.0 if m["on_time_rate"] is None else m["on_time_rate"]
    return round(max(0.0, 60 * coverage + 40 * on_time - 2 * m["overdue"]), 1)


ROW_KIND = {"subdistrict": "community", "district": "subdistrict"}  # the level a report ranks


def _metrics(session: Session, root: Area, communities: dict[int, Area], start: date, end: date, tz: str,
             now: datetime, categories: dict[int, str]) -> dict[int | None, dict]:
    """Metrics of each row area (keyed by id; communities, or a district's sub-districts) for local dates
    [start, end), and under the key None what lies in root's tree outside every row (filed at root itself)."""
    result: dict[int | None, dict] = {cid: _empty() for cid in communities}
    result[None] = _empty()
    prefix_of = {c.path: cid for cid, c in communities.items()}

    def community_of(path: str) -> int | None:
        for prefix, cid in prefix_of.items():
            if path.startswith(prefix):
                return cid
        return None

    in_tree = Area.path.startswith(root.path)
    planned_days: set[tuple[int, date]] = set()
    for state, path, grid_id, day in session.execute(
            select(PatrolWindow.state, Area.path, PatrolWindow.area_id, PatrolWindow.local_date)
            .join(Area, Area.id == PatrolWindow.area_id)
            .where(PatrolWindow.local_date >= start, PatrolWindow.local_date < end, in_tree)):
        m = result.get(community_of(path))
        if m is None:
            continue
        planned_days.add((grid_id, day))
        m["windows_scheduled"] += 1
        m["windows_patrolled"] += state == "patrolled"
        m["windows_late"] += state == "late"
        m["windows_missed"] += state in ("missed", "acknowledged", "escalated")
    for path, scheduled, patrolled in unplanned_windows(session, in_tree, start, end, now, planned_days):
        m = result.get(community_of(path))
        if m is not None:
            m["windows_scheduled"] += scheduled
            m["windows_patrolled"] += patrolled
            m["windows_missed"] += scheduled - patrolled
    t0, t1 = _instant(start, tz), _instant(end, tz)
    cutoff = min(now, t1)
    for incident, path in session.execute(
            select(Incident, Area.path).join(Area, Area.id == Incident.area_id)
            .where(Incident.reported_at >= t0, Incident.reported_at < t1, Incident.deleted_at.is_(None), in_tree)):
        m = result.get(community_of(path))
        if m is None:
            continue
        m["incidents"] += 1
        code = categories.get(incident.category_id, "other")
        m["by_category"][code] = m["by_category"].get(code, 0) + 1
        m["by_source"][incident.source] = m["by_source"].get(incident.source, 0) + 1
        m["by_handling"][incident.handling_class] = m["by_handling"].get(incident.handling_class, 0) + 1
        m["resident_reports"] += incident.source == "resident_sms"
        resolved = incident.resolved_at is not None and incident.status in ("resolved", "closed")
        m["resolved"] += resolved
        deadline = incident.deadline
        on_time = resolved and (deadline is None or incident.resolved_at <= deadline)
        m["resolved_on_time"] += on_time
        late = incident.flagged or (deadline is not None and deadline <= cutoff and not on_time
                                    and incident.status not in ("rejected", "duplicate"))
        m["overdue"] += late
        m["due"] += bool(resolved or late or (deadline is not None and deadline <= cutoff))
    for path, in session.execute(
            select(Area.path).select_from(IncidentEvent).join(Incident, Incident.id == IncidentEvent.incident_id)
            .join(Area, Area.id == Incident.area_id)
            .where(IncidentEvent.kind == "escalated", IncidentEvent.at >= t0, IncidentEvent.at < t1, in_tree)):
        m = result.get(community_of(path))
        if m is not None:
            m["escalations"] += 1
    return {cid: _finish(m) for cid, m in result.items()}


def natural_key(code: str) -> list:
    """CJ05-2 before CJ05-10: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", code or "")]


def assign_ranks(rows: list[dict]) -> None:
    """Score descending, codes in natural order; equal scores share a rank (1, 2, 2, 4). Rows with no
    scheduled windows (score None, shown as 无数据) come last and are not ranked."""
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), natural_key(r["code"])))
    previous_score, previous_rank = object(), 0
    for position, row in enumerate(rows, start=1):
        if row["score"] is None:
            row["rank"] = None
            continue
        row["rank"] = previous_rank if row["score"] == previous_score else position
        previous_score, previous_rank = row["score"], row["rank"]


def _sum(metrics: list[dict]) -> dict:
    total = _empty()
    for m in metrics:
        for key in ("windows_scheduled", "windows_patrolled", "windows_late", "windows_missed", "incidents",
                    "resolved", "resolved_on_time", "due", "overdue", "escalations", "resident_reports"):
            total[key] += m[key]
        for key in ("by_category", "by_source", "by_handling"):
            for k, v in m[key].items():
                total[key][k] = total[key].get(k, 0) + v
    return _finish(total)


def reportable(area: Area | None) -> bool:
    return area is not None and area.kind in ROW_KIND


def build_report(session: Session, subdistrict: Area, report_day: date, now: datetime) -> dict:
    """The report of a sub-district (rows: its communities) or a district (rows: its sub-districts). The keys
    `subdistrict` (the reported area) and `communities` (the rows) keep their names for stored reports and
    clients; `area.kind` and `row_kind` say which level they are."""
    if not reportable(subdistrict):
        raise ValueError(f"area {subdistrict.code} is a {subdistrict.kind}: reports are for a sub-district or district")
    row_kind = ROW_KIND[subdistrict.kind]
    tz = settings.default_timezone()
    tz = effective_timezone(session, subdistrict, tz)
    communities = {c.id: c for c in session.scalars(select(Area).where(
        Area.path.startswith(subdistrict.path), Area.kind == row_kind, Area.deleted_at.is_(None))
        .order_by(Area.code))}
    categories = dict(session.execute(select(Category.id, Category.code)).all())
    category_names = {code: (zh, number) for code, zh, number in
                      session.execute(select(Category.code, Category.name_zh, Category.number))}
    start, prev_start = report_day - timedelta(days=7), report_day - timedelta(days=14)
    current = _metrics(session, subdistrict, communities, start, report_day, tz, now, categories)
    previous = _metrics(session, subdistrict, communities, prev_start, start, tz, now, categories)
    rows = []
    for cid, community in communities.items():
        rows.append({"id": cid, "code": community.code, "name": community.name, "current": current[cid],
                     "previous": previous[cid], "score": score(current[cid]), "previous_score": score(previous[cid])})
    assign_ranks(rows)
    return {
        "subdistrict": {"id": subdistrict.id, "code": subdistrict.code, "name": subdistrict.name},
        "area": {"id": subdistrict.id, "code": subdistrict.code, "name": subdistrict.name, "kind": subdistrict.kind},
        "row_kind": row_kind,
        "timezone": tz, "week": {"start": start.isoformat(), "end": report_day.isoformat()},
        "previous_week": {"start": prev_start.isoformat(), "end": start.isoformat()},
        "generated_at": now.isoformat(), "score_formula": SCORE_FORMULA, "communities": rows,
        "category_names": {code: zh for code, (zh, _) in category_names.items()},
        "category_order": [code for code, _ in sorted(category_names.items(), key=lambda kv: kv[1][1])],
        "total": {"current": _sum(list(current.values())), "previous": _sum(list(previous.values()))},
    }


def store_report(session: Session, subdistrict: Area, report_day: date, now: datetime,
                 replace: bool = False) -> tuple[WeeklyReport, bool]:
    """Build and keep the report once per sub-district and week (unique area + week_start)."""
    week_start = report_day - timedelta(days=7)
    existing = session.scalar(select(WeeklyReport).where(WeeklyReport.area_id == subdistrict.id,
                                                         WeeklyReport.week_start == week_start))
    if existing is not None and not replace:
        return existing, False
    data = build_report(session, subdistrict, report_day, now)
    if existing is not None:
        existing.data, existing.created_at = data, now
        return existing, True
    report = WeeklyReport(area_id=subdistrict.id, week_start=week_start, week_end=report_day, data=data,
                          created_at=now)
    session.add(report)
    session.flush()
    return report, True


def send_summaries(session: Session, report: WeeklyReport, now: datetime) -> dict:
    data = report.data
    ranked = [row for row in data["communities"] if row.get("rank") is not None]
    count = len(ranked)
    targets = [(row["id"], row["name"], row["current"], row["previous"],
                f"得分{row['score']} 排名{row['rank']}/{count}" if row.get("rank") else "无数据（无巡查排班）",
                f" Score {row['score']}, rank {row['rank']}/{count}." if row.get("rank") else " No schedule: no data.")
               for row in data["communities"]]
    best = ranked[0] if ranked else None
    worst = ranked[-1] if len(ranked) > 1 else None
    zh_extra = f"首位{best['name']}{best['score']}" if best else ""
    zh_extra += f"，末位{worst['name']}{worst['score']}" if worst else ""
    targets.append((data["subdistrict"]["id"], data["subdistrict"]["name"], data["total"]["current"],
                    data["total"]["previous"], zh_extra, f" Best {best['code']} {best['score']}." if best else ""))
    leaders = first_leaders(session, [t[0] for t in targets])
    specs = []
    for area_id, name, current, previous, zh_extra, en_extra in targets:
        leader = leaders.get(area_id)
        if leader is None:
            continue
        extra = en_extra if leader.locale == "en" else zh_extra
        specs.append({"rule": "weekly", "subject_type": "report", "subject_id": report.id, "member": leader,
                      "area_id": area_id, "tz": data["timezone"], "urgent": False,
                      "key": alert_key("weekly", f"a{area_id}", report.week_start.strftime("%Y%m%d"), leader.id),
                      "body": texts.weekly_summary(leader.locale, name, data["week"], current, previous, extra),
                      "params": texts.weekly_params(name, data["week"], current)})
    return raise_alerts(session, specs, now)


def run_weekly_reports(session: Session, now: datetime, *, area_id: int | None = None,
                       force: bool = False) -> dict:
    """Every sub-district's report, then every district's (an installation with a district level hands
    the report up one more level); area_id narrows it to one sub-district or district."""
    weekday, hour = settings.get("WORKERS_REPORT_WEEKDAY"), settings.get("WORKERS_REPORT_HOUR")
    query = (select(Area).where(Area.kind.in_(tuple(ROW_KIND)), Area.deleted_at.is_(None))
             .order_by(Area.kind.desc(), Area.code))  # "subdistrict" > "district": sub-districts first
    if area_id is not None:
        query = query.where(Area.id == area_id)
    made = sent = 0
    for subdistrict in session.scalars(query).all():
        local = now.astimezone(ZoneInfo(effective_timezone(session, subdistrict, settings.default_timezone())))
        if not force and (local.weekday() != weekday or local.hour < hour):
            continue
        report, created = store_report(session, subdistrict, local.date(), now)
        made += created
        sent += send_summaries(session, report, now)["sent"]
    return {"reports": made, "sms": sent}
