"""The demo sub-district: the shape of a real work plan, deterministic, and loaded once."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
import pytest
from sqlalchemy import func, select

from server import create_app
from server.demo import DemoAlreadyLoaded, DemoRefused, lunar_new_year_dates, load_demo, winter_season
from core.domain.areas import leaders_of
from core.db import db
from core.models import Area, Incident, PatrolSchedule, Site
from tests.support.databases import data_set

pytestmark = pytest.mark.both_databases  # the demo's figures must be the same on every backend

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def demo(app):
    """The demo at NOW, built once per database per test process and written back for each test."""
    def build():
        with app.app_context():
            result = load_demo(db.session, now=NOW)
            db.session.commit()
        return result
    return data_set(app, "demo-at-now", build)


def test_structure_follows_a_subdistrict_plan(demo, db):
    session = db.session
    sub = session.scalar(select(Area).where(Area.code == "CJ05"))
    assert sub.kind == "subdistrict" and sub.parent.kind == "district"
    communities = list(session.scalars(select(Area).where(Area.parent_id == sub.id)))
    assert len(communities) == 13 and {c.kind for c in communities} == {"community"}
    for community in communities:
        grids = list(session.scalars(select(Area).where(Area.parent_id == community.id)))
        assert 2 <= len(grids) <= 8
        assert [m.name for m in leaders_of(session, community)] and len(leaders_of(session, community)) == 2
        for grid in grids:
            assert len(leaders_of(session, grid)) == 2
            from core.domain.areas import patrollers_of
            assert 3 <= len(patrollers_of(session, grid)) <= 5
    assert leaders_of(session, sub)
    roles = Counter(r["role"] for m in demo["members"] for r in m["roles"])
    assert roles["admin"] == 1 and roles["subdistrict_leader"] >= 1
    phones = [m["phone"] for m in demo["members"]]
    assert len(set(phones)) == len(phones)


def test_schedules_sites_and_incidents(demo, db):
    session = db.session
    schedules = {s.name: s for s in session.scalars(select(PatrolSchedule))}
    assert schedules["日常巡查"].windows == [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]
    winter = schedules["秋冬季攻坚"]
    assert (winter.active_from, winter.active_to) == (date(2026, 11, 25), date(2027, 2, 28))
    periods = {h["lunar"]: h for h in winter.heightened}
    assert periods["chuxi"]["dates"] == ["2027-02-05"] and periods["spring_festival"]["dates"][0] == "2027-02-06"
    night = periods["chuxi"]["windows"][0]
    assert night["end"] < night["start"]  # runs past midnight
    assert all(site["fixed_post"] for site in winter.key_sites) and len(winter.key_sites) >= 3
    kinds = Counter(s.kind for s in session.scalars(select(Site)))
    assert kinds["coal_user"] == 12 and kinds["key_site"] >= 3
    statuses = {i.status for i in session.scalars(select(Incident))}
    assert {"open", "in_progress", "resolved", "closed"} <= statuses
    assert session.scalar(select(func.count(Incident.id)).where(Incident.flagged.is_(True))) == 1


def test_last_thursdays_report_is_stored_with_the_same_figures_on_every_backend(demo, db):
    """An office opening the demo sees last Thursday's 周报 for CJ05 (and the district CJ's, its one row CJ05),
    built from the seeded fortnight of patrols and problems: the same figures on SQLite and PostgreSQL."""
    from server.demo import last_report_day
    from core.models.alerts import WeeklyReport
    assert last_report_day(date(2026, 12, 1)) == date(2026, 11, 26)  # a Tuesday → the Thursday before
    assert last_report_day(date(2026, 11, 26)) == date(2026, 11, 19)  # a Thursday → the one before (today's: the job)
    assert [(r["area"], r["week_end"]) for r in demo["weekly_reports"]] == [("CJ05", "2026-11-26"),
                                                                            ("CJ", "2026-11-26")]
    sub = db.session.get(WeeklyReport, demo["weekly_reports"][0]["id"]).data
    district = db.session.get(WeeklyReport, demo["weekly_reports"][1]["id"]).data
    rows = sub["communities"]
    assert len(rows) == 13 and all(r["score"] is not None for r in rows)
    assert [(r["code"], r["rank"]) for r in rows[:4]] == [("CJ05-3", 1), ("CJ05-7", 2), ("CJ05-1", 3), ("CJ05-2", 3)]
    total = sub["total"]["current"]
    assert (total["windows_scheduled"], total["windows_patrolled"], total["incidents"], total["overdue"]) == (
        896, 753, 8, 2)
    assert [(r["code"], r["score"], r["rank"]) for r in district["communities"]] == [("CJ05", 76.4, 1)]
    assert district["communities"][0]["current"] == total


def test_loading_twice_is_refused_and_changes_nothing(demo, db):
    before = db.session.scalar(select(func.count(Area.id)))
    with pytest.raises(DemoAlreadyLoaded):
        load_demo(db.session)
    assert db.session.scalar(select(func.count(Area.id))) == before


def test_deterministic_across_databases(tmp_path):
    def load(name):
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / name}", "INSTANCE_PATH": str(tmp_path),
                          "REDIS_URL": None})
        with app.app_context():
            db.create_all()
            result = load_demo(db.session, now=NOW)
            db.session.commit()
        return [(m["name"], m["phone"], m["roles"]) for m in result["members"]], result["areas"]
    assert load("a.db") == load("b.db")


def test_refuses_to_load_with_a_real_sms_backend(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path),
                      "REDIS_URL": None, "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                      "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+15005550006"})
    with app.app_context():
        db.create_all()
        with pytest.raises(DemoRefused):
            load_demo(db.session)


@pytest.mark.parametrize("today, expected", [
    (date(2026, 11, 22), (date(2026, 11, 25), date(2027, 2, 28))),
    (date(2027, 1, 10), (date(2026, 11, 25), date(2027, 2, 28))),
    (date(2027, 6, 1), (date(2027, 11, 25), date(2028, 2, 28))),
])
def test_winter_season(today, expected):
    assert winter_season(today) == expected


def test_lunar_new_year_dates():
    chuxi, spring = lunar_new_year_dates(date(2027, 11, 25))
    assert chuxi == date(2028, 1, 25) and spring[0] == date(2028, 1, 26)


def test_the_documented_example_roster_imports_cleanly_into_the_demo(demo, db):
    from pathlib import Path

    from core.domain.roster import import_roster
    from core.domain.roster_files import read_roster
    example = Path(__file__).resolve().parent.parent / "docs" / "roster-example.csv"
    sub = db.session.scalar(select(Area).where(Area.code == "CJ05"))
    report = import_roster(db.session, read_roster(example.read_bytes()), sub, commit=True, channel="cli")
    assert report["ok"], report["errors"]
    assert [c["code"] for c in report["created"]["communities"]] == ["CJ05-14"]
    assert len(report["created"]["members"]) == 9
