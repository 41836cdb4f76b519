"""Overdue escalation, every step: deadline alert → grace → escalate (flagged) → next level … → daily digest
at the sub-district; acknowledgement and resolution stop it; quiet hours hold, urgent categories do not."""
import time_machine
from sqlalchemy import select
import pytest

from core.domain.incidents import create_incident, handle
from core.models import Incident, IncidentEvent
from core.domain.alerts import acknowledge_alert, release_held
from core.domain.overdue import scan_overdue, send_daily_digest
from tests.support.workers_helpers import alerts, category, local, tracks

pytestmark = pytest.mark.both_databases  # ON CONFLICT upserts and SKIP LOCKED claims, per dialect


def _incident(session, w, code="dust", handling="immediate", at=None):
    incident = create_incident(session, category=category(session, code), area=w.g11, channel="api",
                               source="patrol", handling_class=handling, now=at or local(2026, 11, 23, 10, 0))
    session.commit()
    return incident


def _reload(session, incident_id) -> Incident:
    session.commit()
    session.expire_all()
    return session.get(Incident, incident_id)


def test_escalation_climbs_level_by_level_to_the_digest(session, w):
    incident = _incident(session, w)  # 即办 in HD03-1-1: due by the end of the local day
    assert incident.deadline == local(2026, 11, 23, 23, 59).replace(second=59)
    # 1. At the deadline (+ scan): the grid leader is told; it is 00:05, so the text waits for 07:00.
    first = scan_overdue(session, local(2026, 11, 24, 0, 5))
    assert first["overdue"] == 1
    [alert] = alerts(session, rule="overdue")
    assert alert.member_id == w.g11_leader.id and alert.status == "held"
    assert alert.hold_until == local(2026, 11, 24, 7, 0) and "已超期" in alert.body
    # 2. The grace runs from when the text goes out (07:00): at 02:05 nothing moves.
    assert scan_overdue(session, local(2026, 11, 24, 2, 5))["escalated"] == 0
    # 3. Quiet hours end: the held text goes out.
    assert release_held(session, local(2026, 11, 24, 7, 0))["released"] == 1
    session.commit()
    # 4. Grace over, unresolved, unacknowledged: one level up, flagged, and the community leader is told.
    assert scan_overdue(session, local(2026, 11, 24, 8, 59))["escalated"] == 0
    second = scan_overdue(session, local(2026, 11, 24, 9, 0))
    incident = _reload(session, incident.id)
    assert second["escalated"] == 1
    assert incident.responsible_area_id == w.c1.id and incident.flagged and incident.escalation_count == 1
    assert incident.deadline == local(2026, 11, 25, 9, 0)  # community: 24 h from the escalation
    event = session.scalar(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id,
                                                       IncidentEvent.kind == "escalated"))
    assert event.channel == "worker" and event.from_area_id == w.g11.id and event.to_area_id == w.c1.id
    [up] = alerts(session, rule="escalated")
    assert up.member_id == w.c1_leader.id and "挂牌督办" in up.body and up.status == "queued"
    # 5. The community misses its deadline too → alerted, then escalated to the sub-district.
    scan_overdue(session, local(2026, 11, 25, 9, 5))
    assert [a.member_id for a in alerts(session, rule="overdue")] == [w.g11_leader.id, w.c1_leader.id]
    assert scan_overdue(session, local(2026, 11, 25, 10, 59))["escalated"] == 0  # daytime: grace from the deadline
    scan_overdue(session, local(2026, 11, 25, 11, 0))
    incident = _reload(session, incident.id)
    assert incident.responsible_area_id == w.subdistrict.id and incident.escalation_count == 2
    assert alerts(session, rule="escalated")[-1].member_id == w.sub_leader.id
    # 6. Top level: overdue again → alert, then into the daily digest instead of further up.
    scan_overdue(session, local(2026, 11, 27, 11, 5))
    result = scan_overdue(session, local(2026, 11, 27, 13, 5))
    assert result["digest"] == 1 and _reload(session, incident.id).responsible_area_id == w.subdistrict.id
    assert send_daily_digest(session, local(2026, 11, 28, 7, 0))["alerts"] == 0  # before the digest hour
    digest = send_daily_digest(session, local(2026, 11, 28, 8, 0))
    again = send_daily_digest(session, local(2026, 11, 28, 9, 0))
    session.commit()
    assert digest["alerts"] == 1 and again["alerts"] == 0
    [text] = alerts(session, rule="digest")
    assert text.member_id == w.sub_leader.id and incident.ticket in text.body


def test_acknowledged_incident_is_not_escalated(session, w):
    incident = _incident(session, w, handling="reported")  # community HD03-1, due 24 h later at 10:00
    scan_overdue(session, local(2026, 11, 24, 10, 1))  # daytime: sent at once
    assert alerts(session, rule="overdue")[0].status == "queued"
    done = acknowledge_alert(session, w.c1_leader, now=local(2026, 11, 24, 10, 30))  # 收到
    session.commit()
    assert len(done) == 1
    result = scan_overdue(session, local(2026, 11, 24, 12, 30))
    incident = _reload(session, incident.id)
    assert result["escalated"] == 0 and incident.responsible_area_id == w.c1.id
    assert incident.status == "in_progress" and tracks(session)[0].stage == "acknowledged"


def test_resolved_incident_is_not_escalated(session, w):
    incident = _incident(session, w, handling="reported")
    scan_overdue(session, local(2026, 11, 24, 10, 1))
    handle(session, _reload(session, incident.id), channel="api", now=local(2026, 11, 24, 11, 0))
    session.commit()
    result = scan_overdue(session, local(2026, 11, 24, 12, 30))
    assert result["escalated"] == 0 and result["closed"] == 1
    assert tracks(session)[0].stage == "resolved"


def test_urgent_category_is_sent_in_quiet_hours(session, w):
    eve = local(2027, 2, 5, 20, 0)  # 除夕 evening: fireworks
    fireworks = _incident(session, w, code="fireworks", at=eve)
    dust = _incident(session, w, code="dust", at=eve)
    with time_machine.travel(local(2027, 2, 6, 0, 10), tick=False):
        from workers.jobs import overdue_job
        overdue_job()
    by_subject = {a.subject_id: a for a in alerts(session, rule="overdue")}
    assert by_subject[fireworks.id].status == "queued" and by_subject[fireworks.id].urgent
    assert by_subject[dust.id].status == "held"


def test_overdue_scan_twice_and_reported_class(session, w):
    incident = _incident(session, w, handling="reported")  # 上报: the community has 24 h
    assert incident.responsible_area_id == w.c1.id
    assert scan_overdue(session, local(2026, 11, 24, 9, 0))["overdue"] == 0
    first = scan_overdue(session, local(2026, 11, 24, 10, 1))
    second = scan_overdue(session, local(2026, 11, 24, 10, 2))
    assert first["overdue"] == 1 and second["overdue"] == 0
    assert [a.member_id for a in alerts(session)] == [w.c1_leader.id]


def test_escalation_steps_under_time_travel_through_the_jobs(session, w):
    """The same climb driven only by the clock: each job runs with now=None at a travelled time."""
    from workers.jobs import daily_digest_job, overdue_job, release_held_job
    incident = _incident(session, w, handling="reported")  # HD03-1 community, due 2026-11-24 10:00
    steps = [
        (local(2026, 11, 24, 10, 5), overdue_job, "overdue", w.c1_leader),  # at the deadline
        (local(2026, 11, 24, 12, 5), overdue_job, "escalated", w.sub_leader),  # grace over: up to HD03
        (local(2026, 11, 26, 12, 10), overdue_job, "overdue", w.sub_leader),  # HD03's 48 h passed too
    ]
    for moment, job, rule, leader in steps:
        with time_machine.travel(moment, tick=False):
            job()
            release_held_job()
        assert alerts(session, rule=rule)[-1].member_id == leader.id
    with time_machine.travel(local(2026, 11, 26, 14, 15), tick=False):
        assert overdue_job()["digest"] == 1  # top level: no further climb
    with time_machine.travel(local(2026, 11, 27, 8, 0), tick=False):
        assert daily_digest_job()["alerts"] == 1
    incident = _reload(session, incident.id)
    assert incident.responsible_area_id == w.subdistrict.id and incident.flagged and incident.escalation_count == 1
    assert {a.status for a in alerts(session)} == {"queued"}
