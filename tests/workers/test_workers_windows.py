"""Window computation: plain functions, no database. Dates and zones are explicit; quiet hours and the
lunar dates are checked against known calendar facts."""
from datetime import date, datetime, timezone

import pytest
import time_machine

from core.domain.patrol_calendar import (effective_schedule, heightened_applies, in_quiet_hours, lunar_dates,
                                           local_date, windows_for_date)

UTC = timezone.utc
DAILY = {"windows": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]}


def test_daily_windows_are_local_times_as_utc_instants():
    windows = windows_for_date(DAILY, date(2026, 11, 23), "Asia/Shanghai")
    assert [(w.starts_at, w.ends_at, w.label) for w in windows] == [
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 23, 4, 0, tzinfo=UTC), "08:00-12:00"),
        (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), datetime(2026, 11, 23, 10, 0, tzinfo=UTC), "14:00-18:00")]


def test_window_ending_before_it_starts_crosses_midnight():
    night = {"windows": [{"start": "22:00", "end": "02:00"}]}
    [w] = windows_for_date(night, date(2026, 11, 23), "Asia/Shanghai")
    assert w.starts_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert w.ends_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 02:00 on the 24th, Beijing time
    assert w.local_date == date(2026, 11, 23)


def test_time_zone_and_daylight_saving_move_the_instants_not_the_duty():
    before = windows_for_date(DAILY, date(2026, 3, 28), "Europe/Berlin")[0]  # CET, UTC+1
    after = windows_for_date(DAILY, date(2026, 3, 30), "Europe/Berlin")[0]  # CEST, UTC+2
    assert before.starts_at.hour == 7 and after.starts_at.hour == 6
    urumqi = windows_for_date(DAILY, date(2026, 11, 23), "Asia/Urumqi")[0]  # UTC+6
    assert urumqi.starts_at == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_campaign_date_range_bounds_the_schedule_and_falls_back_to_ancestor():
    campaign = {**DAILY, "windows": [{"start": "19:00", "end": "21:00"}], "active_from": "2026-11-25",
                "active_to": "2027-02-28"}
    community = [DAILY]
    chain = [[], community, [campaign]]  # district, community, grid
    assert effective_schedule(chain, date(2026, 11, 24))[0] == DAILY  # before the campaign
    assert effective_schedule(chain, date(2026, 11, 25))[0] == campaign  # first day, inclusive
    assert effective_schedule(chain, date(2027, 2, 28))[0] == campaign  # last day, inclusive
    assert effective_schedule(chain, date(2027, 3, 1))[0] == DAILY
    assert windows_for_date(campaign, date(2027, 3, 1), "Asia/Shanghai") == []


def test_chuxi_and_spring_festival_from_the_lunar_calendar():
    assert lunar_dates("chuxi", 2027) == [date(2027, 2, 5)]  # 除夕 2027
    assert lunar_dates("chuxi", 2026) == [date(2026, 2, 16)]
    festival = lunar_dates("spring_festival", 2027)
    assert festival[0] == date(2027, 2, 6) and festival[-1] == date(2027, 2, 12) and len(festival) == 7
    assert lunar_dates("yuanxiao", 2027) == [date(2027, 2, 20)]
    with pytest.raises(ValueError):
        lunar_dates("qingming", 2027)


def test_heightened_period_adds_night_windows_on_chuxi_only():
    schedule = {**DAILY, "heightened": [
        {"name": "除夕", "lunar": "chuxi", "windows": [{"start": "20:00", "end": "02:00"}]},
        {"name": "督查日", "lunar": None, "dates": ["2026-12-01"], "windows": [{"start": "19:00", "end": "21:00"}]}]}
    eve = windows_for_date(schedule, date(2027, 2, 5), "Asia/Shanghai")
    assert [(w.label, w.kind, w.heightened) for w in eve] == [
        ("08:00-12:00", "daily", ""), ("14:00-18:00", "daily", ""), ("20:00-02:00", "heightened", "除夕")]
    assert len(windows_for_date(schedule, date(2027, 2, 4), "Asia/Shanghai")) == 2
    office_day = windows_for_date(schedule, date(2026, 12, 1), "Asia/Shanghai")
    assert office_day[-1].heightened == "督查日"
    assert heightened_applies({"lunar": "spring_festival"}, date(2027, 2, 8))
    assert not heightened_applies({"lunar": "spring_festival"}, date(2027, 2, 5))


def test_fixed_post_key_sites_get_windows_on_heightened_days_for_their_grid_only():
    schedule = {**DAILY, "heightened": [{"name": "除夕", "lunar": "chuxi",
                                         "windows": [{"start": "18:00", "end": "01:00"}]}],
                "key_sites": [{"name": "东坡坟地", "fixed_post": True, "grid": "HD03-1-1"},
                              {"name": "商场", "fixed_post": False}]}
    mine = windows_for_date(schedule, date(2027, 2, 5), "Asia/Shanghai", grid_code="HD03-1-1")
    posts = [w for w in mine if w.kind == "fixed_post"]
    assert [(p.site, p.label) for p in posts] == [("东坡坟地", "18:00-01:00")]
    other = windows_for_date(schedule, date(2027, 2, 5), "Asia/Shanghai", grid_code="HD03-1-2")
    assert not [w for w in other if w.kind == "fixed_post"]
    ordinary_day = windows_for_date(schedule, date(2027, 1, 20), "Asia/Shanghai", grid_code="HD03-1-1")
    assert not [w for w in ordinary_day if w.kind == "fixed_post"]


def test_quiet_hours_release_at_seven_local():
    tz = "Asia/Shanghai"
    late_evening = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 local
    assert in_quiet_hours(late_evening, tz) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 next day
    small_hours = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)  # 03:30 local on the 24th
    assert in_quiet_hours(small_hours, tz) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert in_quiet_hours(datetime(2026, 11, 23, 2, 0, tzinfo=UTC), tz) is None  # 10:00 local
    assert in_quiet_hours(datetime(2026, 11, 23, 23, 0, tzinfo=UTC), tz) is None  # exactly 07:00: awake
    assert in_quiet_hours(datetime(2026, 11, 23, 5, 0, tzinfo=UTC), tz, "12:00", "14:00") is not None  # 13:00


def test_local_date_under_time_travel():
    with time_machine.travel(datetime(2027, 2, 5, 16, 30, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)
        assert local_date(now, "Asia/Shanghai") == date(2027, 2, 6)  # already 初一 in Beijing
        assert local_date(now, "Europe/London") == date(2027, 2, 5)


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

ZONES = ["Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]


@hsettings(max_examples=200, deadline=None)
@given(start=st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
       end=st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
       day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)), zone=st.sampled_from(ZONES))
def test_any_window_is_forward_at_most_a_day_and_starts_at_its_local_time(start, end, day, zone):
    from zoneinfo import ZoneInfo
    spec = {"start": f"{start[0]:02d}:{start[1]:02d}", "end": f"{end[0]:02d}:{end[1]:02d}"}
    [w] = windows_for_date({"windows": [spec]}, day, zone)
    assert w.starts_at < w.ends_at
    assert (w.ends_at - w.starts_at).total_seconds() <= 25 * 3600  # a day, plus a daylight-saving hour
    local_start = w.starts_at.astimezone(ZoneInfo(zone))
    assert local_start.date() == day and w.local_date == day
    assert (spec["end"] <= spec["start"]) == (w.ends_at.astimezone(ZoneInfo(zone)).date() > day)
