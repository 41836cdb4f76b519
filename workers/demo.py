"""The workers' part of the demo (called by server.demo through its feature hook): last Thursday's weekly
report (周报) stored for the demo sub-district and its district, so an office opening the demo sees one."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.domain.weekly_reports import store_report


def load_demo_data(session: Session, context: dict) -> dict:
    stored = []
    for key in ("subdistrict", "district"):
        report, _ = store_report(session, context[key], context["report_day"], context["now"])
        stored.append({"id": report.id, "area": context[key].code, "week_start": report.week_start.isoformat(),
                       "week_end": report.week_end.isoformat()})
    return {"weekly_reports": stored}
