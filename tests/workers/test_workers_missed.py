"""Missed-patrol scan on SQLite and PostgreSQL: who is told, once; what stops reminders; escalation to the
community; quiet hours; heightened nights. Times are Beijing wall-clock (helpers.local)."""
import time_machine
import pytest

from core.domain.alerts import acknowledge_alert, release_held
from core.domain.patrol_windows import plan_windows
from core.domain.missed_patrols import scan_missed_patrols
from tests.support.workers_helpers import add_patrol, add_schedule, alerts, local, windows

pytestmark = pytest.mark.both_databases  # the scan's SQL differs per database (interval maths, SKIP LOCKED, upserts)


def _plan_and_scan(session, *moments):
    plan_windows(session, moments[0])
    session.commit()
    return [scan_missed_patrols(session, m) for m in moments[1:]]


def test_missed_window_alerts_first_leader_and_patrollers_once(session, w):
    add_schedule(session, w.c1)  # grids HD03-1-1 and HD03-1-2 inherit it
    add_patrol(session, w.patroller, w.g12, local(2026, 11, 23, 9, 0))  # g12 patrolled, g11 not
    [first, again] = _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15),
                                    local(2026, 11, 23, 12, 20))
    assert first["missed"] == 1 and first["patrolled"] == 1 and first["alerts"] == 2
    assert again["checked"] == 0  # nothing new is due: the scan costs what is due
    sent = alerts(session, rule="missed")
    assert sorted(a.member_id for a in sent) == sorted([w.g11_leader.id, w.patroller.id])  # not the deputy
    assert all(a.body.startswith("HD03-1-1 网格 11-23 08:00-12:00 未巡查") for a in sent)  # dated (issue 9)
    assert {a.status for a in sent} == {"queued"}
    g12 = windows(session, w.g12)[0]
    assert g12.state == "patrolled" and g12.patrol_id is not None


def test_window_still_within_grace_is_not_judged(session, w):
    add_schedule(session, w.c1)
    [result] = _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 14))
    assert result["checked"] == 0 and alerts(session) == []


def test_unacknowledged_alert_goes_to_community_leader_after_an_hour(session, w):
    add_schedule(session, w.c1)
    _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15),
                   local(2026, 11, 23, 13, 0), local(2026, 11, 23, 13, 15), local(2026, 11, 23, 13, 30))
    up = alerts(session, rule="missed_up")
    assert sorted(a.area_id for a in up) == sorted([w.g11.id, w.g12.id])
    assert {a.member_id for a in up} == {w.c1_leader.id}
    assert all("提醒未回复" in a.body for a in up)
    assert len(up) == 2  # one per grid's window (g11 and g12 both missed), never repeated


def test_acknowledgement_stops_the_escalation(session, w):
    add_schedule(session, w.g11)
    _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15))
    with time_machine.travel(local(2026, 11, 23, 12, 30), tick=False):
        done = acknowledge_alert(session, w.g11_leader)  # a bare 收到 by SMS
        session.commit()
    assert len(done) == 1 and done[0].acknowledged_at is not None
    scan_missed_patrols(session, local(2026, 11, 23, 13, 30))
    assert alerts(session, rule="missed_up") == []
    assert windows(session, w.g11)[0].state == "acknowledged"


def test_late_patrol_stops_the_escalation(session, w):
    add_schedule(session, w.g11)
    _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15))
    add_patrol(session, w.patroller, w.g11, local(2026, 11, 23, 12, 40))
    result = scan_missed_patrols(session, local(2026, 11, 23, 13, 30))
    assert result["late"] == 1 and alerts(session, rule="missed_up") == []
    assert windows(session, w.g11)[0].state == "late"


def test_patrol_synced_after_the_scan_counts_as_on_time(session, w):
    add_schedule(session, w.g11)
    _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15))
    add_patrol(session, w.patroller, w.g11, local(2026, 11, 23, 10, 0))  # walked at 10:00, phone synced at 12:50
    result = scan_missed_patrols(session, local(2026, 11, 23, 13, 15))
    assert result["patrolled"] == 1 and alerts(session, rule="missed_up") == []
    assert windows(session, w.g11)[0].state == "patrolled"


def test_two_missed_windows_in_a_row_go_to_community_leader_at_once(session, w):
    add_schedule(session, w.g11)
    add_patrol(session, w.patroller, w.g11, local(2026, 11, 23, 12, 40))  # late for the morning
    _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15), local(2026, 11, 23, 13, 20),
                   local(2026, 11, 23, 18, 15))
    assert alerts(session, rule="missed_up") == []  # morning late patrol: the afternoon is the first miss
    acknowledge_alert(session, w.g11_leader, now=local(2026, 11, 23, 18, 30))  # 收到 for the afternoon
    session.commit()
    _plan_and_scan(session, local(2026, 11, 24, 7, 0), local(2026, 11, 24, 12, 15))  # next morning: second miss
    up = alerts(session, rule="missed_up")
    assert len(up) == 1 and up[0].member_id == w.c1_leader.id and "连续两次" in up[0].body


def test_patrol_sent_by_sms_counts_too(session, w):
    add_schedule(session, w.g11)
    add_patrol(session, w.patroller, w.g11, local(2026, 11, 23, 10, 0), source="sms")
    [result] = _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 12, 15))
    assert result["patrolled"] == 1 and alerts(session) == []


def test_quiet_hours_hold_until_morning_and_drop_if_patrolled_meanwhile(session, w):
    add_schedule(session, w.g11, windows=[{"start": "21:00", "end": "22:30"}])
    add_schedule(session, w.g21, windows=[{"start": "21:00", "end": "22:30"}])
    _plan_and_scan(session, local(2026, 11, 23, 12, 0), local(2026, 11, 23, 22, 45))
    held = alerts(session, status="held")
    assert len(held) == 3 and all(a.hold_until == local(2026, 11, 24, 7, 0) for a in held)
    add_patrol(session, w.patroller2, w.g21, local(2026, 11, 23, 23, 30))  # g21 patrolled late at night
    assert release_held(session, local(2026, 11, 24, 6, 59)) == {"released": 0, "cancelled": 0}
    result = release_held(session, local(2026, 11, 24, 7, 0))
    session.commit()
    assert result == {"released": 2, "cancelled": 1}
    assert [a.member_id for a in alerts(session, status="cancelled")] == [w.patroller2.id]


def test_heightened_night_on_chuxi_is_urgent_and_not_held(session, w):
    add_schedule(session, w.g11, heightened=[{"name": "除夕", "lunar": "chuxi",
                                              "windows": [{"start": "20:00", "end": "23:00"}]}])
    with time_machine.travel(local(2027, 2, 5, 23, 15), tick=False):
        from workers.jobs import missed_patrols_job, plan_windows_job
        plan_windows_job()
        summary = missed_patrols_job()
    night = [a for a in alerts(session, rule="missed") if "20:00-23:00" in a.body]
    assert summary["missed"] >= 1 and len(night) == 2
    assert all(a.status == "queued" and a.urgent and a.body.startswith("【除夕】") for a in night)


def test_planning_is_idempotent_and_follows_schedule_changes(session, w):
    schedule = add_schedule(session, w.c1)
    first = plan_windows(session, local(2026, 11, 23, 7, 0))
    session.commit()
    second = plan_windows(session, local(2026, 11, 23, 7, 0))
    session.commit()
    assert first["inserted"] == 2 * 2 * 2 and second["inserted"] == 0  # 2 grids × 2 windows × 2 days
    schedule.windows = [{"start": "09:00", "end": "11:00"}]
    session.commit()
    third = plan_windows(session, local(2026, 11, 23, 7, 0))
    session.commit()
    assert third["removed"] == 8 and third["inserted"] == 4
    assert {x.label for x in windows(session, w.g11)} == {"09:00-11:00"}


def test_night_window_across_midnight_in_another_time_zone_under_time_travel(session, w):
    """HD03-2-1 keeps Berlin time: its 22:00–02:00 window is judged at 02:15 Berlin, the next morning."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from workers.jobs import missed_patrols_job, plan_windows_job
    berlin = ZoneInfo("Europe/Berlin")
    w.g21.timezone = "Europe/Berlin"
    session.commit()
    add_schedule(session, w.g21, windows=[{"start": "22:00", "end": "02:00"}], heightened=[])
    with time_machine.travel(datetime(2026, 11, 23, 21, 0, tzinfo=berlin), tick=False):
        plan_windows_job()
    with time_machine.travel(datetime(2026, 11, 24, 2, 14, tzinfo=berlin), tick=False):
        assert missed_patrols_job()["checked"] == 0  # still within the grace
    with time_machine.travel(datetime(2026, 11, 24, 2, 15, tzinfo=berlin), tick=False):
        assert missed_patrols_job()["missed"] == 1
    [alert] = alerts(session, rule="missed")
    assert alert.member_id == w.patroller2.id and "22:00-02:00" in alert.body
    assert alert.status == "held"  # 02:15 in Berlin is quiet time there: held until 07:00 Berlin
    assert alert.hold_until == datetime(2026, 11, 24, 7, 0, tzinfo=berlin)


def test_after_an_outage_both_windows_of_a_day_count_as_two_in_a_row(session, w):
    add_schedule(session, w.g11)
    [result] = _plan_and_scan(session, local(2026, 11, 23, 7, 0), local(2026, 11, 23, 19, 0))  # one catch-up
    assert result["missed"] == 2 and result["escalated"] == 1
    [up] = alerts(session, rule="missed_up")
    assert up.member_id == w.c1_leader.id and "14:00-18:00" in up.body and "连续两次" in up.body


def test_held_reminder_is_escalated_an_hour_after_it_is_sent(session, w):
    add_schedule(session, w.g11, windows=[{"start": "21:00", "end": "22:30"}])
    _plan_and_scan(session, local(2026, 11, 23, 12, 0), local(2026, 11, 23, 22, 45))
    assert windows(session, w.g11)[0].next_check_at == local(2026, 11, 24, 8, 0)  # 07:00 release + 1 h
    scan_missed_patrols(session, local(2026, 11, 24, 7, 30))
    assert alerts(session, rule="missed_up") == []
    scan_missed_patrols(session, local(2026, 11, 24, 8, 0))
    assert [a.member_id for a in alerts(session, rule="missed_up")] == [w.c1_leader.id]
