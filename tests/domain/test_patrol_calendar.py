"""One patrol calendar: the API (`GET /schedules/effective?on=`), the planner and the SMS check-in replies
agree, and each drift the two old copies had is pinned by a test that failed on them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.domain.patrol_calendar import (effective_schedule, heightened_applies, lunar_dates, season_active,
                                           window_containing, windows_for_date, windows_on)
from tests.support.api_helpers import as_
from tests.support.sms_fixtures import console_app  # noqa: F401 (fixture)
from tests.support.workers_helpers import local

DAILY = [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]
CAMPAIGN = [{"start": "07:00", "end": "11:00"}, {"start": "14:00", "end": "18:00"}, {"start": "22:00", "end": "02:00"}]
SEASONS = {"open": (None, None), "plain": ("2026-11-25", "2027-02-28"), "wraps": ("2026-11-25", "2026-02-28")}
LUNAR = {"none": None, "chuxi": "chuxi", "spring_festival": "spring_festival", "yuanxiao": "yuanxiao"}
DAYS = [date(2026, 12, 10), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 12), date(2027, 2, 20),
        date(2027, 6, 1), date(2031, 1, 10)]


def _campaign(season: str, lunar: str) -> dict:
    active_from, active_to = SEASONS[season]
    body = {"area": "HD03", "name": "秋冬季攻坚", "windows": CAMPAIGN}
    if active_from:
        body.update(active_from=active_from, active_to=active_to)
    if LUNAR[lunar]:
        body["heightened"] = [{"name": lunar, "lunar": LUNAR[lunar], "windows": [{"start": "19:00", "end": "23:00"}]}]
    return body


def _planned_labels(app, grid_id: int, day: date) -> list[str]:
    from core.db import db
    from core.models.alerts import PatrolWindow
    from core.domain.patrol_windows import plan_windows
    with app.app_context():
        plan_windows(db.session, local(day.year, day.month, day.day), days_ahead=0)
        db.session.commit()
        rows = db.session.scalars(select(PatrolWindow).where(PatrolWindow.area_id == grid_id,
                                                            PatrolWindow.local_date == day,
                                                            PatrolWindow.kind != "fixed_post"))
        return sorted(w.label for w in rows)


@pytest.mark.parametrize("lunar", sorted(LUNAR))
@pytest.mark.parametrize("season", sorted(SEASONS))
def test_api_effective_windows_and_planned_windows_agree(app, client, world, season, lunar):
    """An everyday schedule and a campaign on the sub-district; the grid inherits. For every day, the
    windows the API says apply are exactly the windows the planner writes for the missed-patrol scan."""
    admin = as_(client, world, "admin")
    assert admin.post("/schedules", {"area": "HD03", "name": "日常巡查", "windows": DAILY}).status_code == 201
    created = admin.post("/schedules", _campaign(season, lunar))
    assert created.status_code == 201, created.get_json()
    for day in DAYS:
        body = admin.get("/schedules/effective", {"area": "HD03-1-1", "on": day.isoformat()}).get_json()
        api = sorted(f"{w['start']}-{w['end']}" for w in body["windows_on"] or [])
        assert api == _planned_labels(app, world.ids["g11"], day), (season, lunar, day)


# --- the drifts, one test each ----------------------------------------------------------------------------

def test_wrapping_season_is_planned_all_winter():
    """Was: the workers compared 2026-12-10 with 11-25 → 02-28 literally and never planned it."""
    season = {"windows": DAILY, "active_from": date(2026, 11, 25), "active_to": date(2026, 2, 28)}
    assert len(windows_for_date(season, date(2026, 12, 10), "Asia/Shanghai")) == 2
    assert len(windows_for_date(season, date(2031, 2, 28), "Asia/Shanghai")) == 2
    assert windows_for_date(season, date(2031, 3, 1), "Asia/Shanghai") == []
    assert season_active("2026-11-25", "2026-02-28", date(2026, 12, 10))


def test_wrapping_season_alerts_missed_patrols(session, world):
    from tests.support.workers_helpers import add_schedule, load_world
    from core.domain.patrol_windows import plan_windows
    from core.domain.missed_patrols import scan_missed_patrols
    w = load_world(session, world)
    add_schedule(session, w.c1, active_from=date(2026, 11, 25), active_to=date(2026, 2, 28))
    plan_windows(session, local(2026, 12, 10, 7, 0))
    session.commit()
    assert scan_missed_patrols(session, local(2026, 12, 10, 12, 15))["missed"] == 2  # HD03-1-1 and HD03-1-2


def test_spring_festival_spans_seven_days_for_the_api_too(client, world):
    """Was: one day (正月初一) for the API, seven for the workers."""
    admin = as_(client, world, "admin")
    body = {"area": "HD03", "windows": DAILY,
            "heightened": [{"name": "春节", "lunar": "spring_festival",
                            "windows": [{"start": "19:00", "end": "23:00"}]}]}
    assert admin.post("/schedules", body).status_code == 201
    for day, night in (("2027-02-06", True), ("2027-02-09", True), ("2027-02-12", True), ("2027-02-13", False)):
        got = admin.get("/schedules/effective", {"area": "HD03-1-1", "on": day}).get_json()["windows_on"]
        assert ({"start": "19:00", "end": "23:00"} in got) is night, day
    assert lunar_dates("spring_festival", 2027, 3) == [date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]


def test_yuanxiao_is_accepted_by_the_api(client, world):
    """Was: refused by the API (only chuxi/spring_festival) but planned by the workers."""
    admin = as_(client, world, "admin")
    created = admin.post("/schedules", {"area": "HD03", "windows": DAILY, "heightened": [
        {"name": "元宵", "lunar": "yuanxiao", "windows": [{"start": "18:00", "end": "22:00"}]}]})
    assert created.status_code == 201, created.get_json()
    got = admin.get("/schedules/effective", {"area": "HD03-1-1", "on": "2027-02-20"}).get_json()["windows_on"]
    assert {"start": "18:00", "end": "22:00"} in got
    assert heightened_applies({"lunar": "yuanxiao"}, date(2027, 2, 20))


def test_one_rule_for_several_active_schedules_on_one_area():
    """Was: the API picked one schedule, the workers planned the union of every active one."""
    everyday = {"id": 1, "windows": DAILY}
    campaign = {"id": 2, "windows": CAMPAIGN, "active_from": "2026-11-25", "active_to": "2027-02-28"}
    newer = {"id": 3, "windows": [{"start": "09:00", "end": "10:00"}]}
    chain = [[], [everyday, campaign, newer]]
    assert effective_schedule(chain, date(2026, 12, 10)) == (campaign, 1)  # a campaign wins while it runs
    assert effective_schedule(chain, date(2027, 6, 1)) == (newer, 1)  # then the newest open-ended one
    assert [w.label for w in windows_for_date(effective_schedule(chain, date(2026, 12, 10))[0],
                                              date(2026, 12, 10), "Asia/Shanghai")] == \
        ["07:00-11:00", "14:00-18:00", "22:00-02:00"]


def test_sms_check_in_outside_the_campaign_season_names_the_daily_window(console_app):  # noqa: F811
    """Was: the SMS reply asked for the effective schedule without a day, got the (inactive) winter
    campaign and told a patroller checking in at 09:35 in June that it was outside every window."""
    from core.db import db
    from core.models import PatrolSchedule
    from sms.inbound import receive
    from tests.support.sms_fixtures import sms_world
    world = sms_world(console_app)
    with console_app.app_context():
        db.session.add(PatrolSchedule(area_id=world.ids["subdistrict"], name="日常巡查", windows=DAILY))
        db.session.add(PatrolSchedule(area_id=world.ids["subdistrict"], name="秋冬季攻坚", windows=DAILY,
                                      active_from=date(2026, 11, 25), active_to=date(2027, 2, 28)))
        db.session.flush()
        june = receive(db.session, message_sid="SMcal1", sender="+8617000000007", body="巡查 HD03-1-1 正常",
                       now=datetime(2027, 6, 1, 1, 35, tzinfo=timezone.utc), config=console_app.config)
        assert june.result["window"] == "08:00-12:00", june.reply
        db.session.commit()


def test_window_containing_asks_each_day_for_its_schedule():
    night = {"windows": [{"start": "22:00", "end": "02:00"}], "active_from": "2026-11-25",
             "active_to": "2026-11-25"}
    by_day = {date(2026, 11, 25): night}
    at = datetime(2026, 11, 25, 17, 30, tzinfo=timezone.utc)  # 01:30 on the 26th in Beijing
    assert window_containing(by_day.get, at, "Asia/Shanghai") == {"start": "22:00", "end": "02:00"}
    assert window_containing(by_day.get, at + timedelta(hours=1), "Asia/Shanghai") is None
    assert windows_on(night, date(2026, 11, 26)) == []
