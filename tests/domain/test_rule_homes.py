"""Rules that now live once in the domain: "a schedule counts from the day it was made" (the patrol calendar)
and recategorising a report (who may, and the change itself), testable without HTTP or the SMS feature."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from core.domain.access import Principal
from core.domain.errors import Forbidden
from core.domain.incident_edits import recategorise, require_may_recategorise
from core.domain.incidents import create_incident
from core.domain.patrol_calendar import counted_from, is_active_on
from core.models import Area, Category, IncidentEvent, Member

SHANGHAI = "Asia/Shanghai"


def test_a_schedule_counts_from_the_local_day_it_was_made():
    made = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)  # 01:00 on 12-01 in Shanghai
    everyday = {"id": 1, "windows": [{"start": "08:00", "end": "12:00"}], "active_from": None, "active_to": None}
    counted = counted_from(everyday, made, SHANGHAI)
    assert counted["active_from"] == date(2026, 12, 1)
    assert not is_active_on(counted, date(2026, 11, 30)) and is_active_on(counted, date(2026, 12, 1))
    assert everyday["active_from"] is None, "the schedule itself is not changed"


def test_a_later_season_start_wins_and_an_unknown_creation_counts_as_written():
    made = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    campaign = {"id": 2, "windows": [], "active_from": date(2026, 11, 25), "active_to": date(2027, 2, 28)}
    assert counted_from(campaign, made, SHANGHAI) is campaign
    started_before = {**campaign, "active_from": "2026-10-01"}
    assert counted_from(started_before, made, SHANGHAI)["active_from"] == date(2026, 11, 1)
    assert counted_from(campaign, None, SHANGHAI) is campaign


def test_recategorising_is_a_checked_recorded_domain_action(session, world):
    categories = {c.code: c for c in session.scalars(select(Category))}
    c1_leader = session.get(Member, world.ids["c1_leader"])
    leader = Principal.for_member(c1_leader)
    outsider = Principal.for_member(session.get(Member, world.ids["c2_leader"]))
    incident = create_incident(session, category=categories["other"], area=session.get(Area, world.ids["g11"]),
                               channel="sms", source="resident_sms", handling_class="reported")
    require_may_recategorise(leader, incident)
    with pytest.raises(Forbidden):  # the lexicon is one for every area: teaching it is a global admin's
        require_may_recategorise(leader, incident, teach=True)
    require_may_recategorise(Principal.for_member(session.get(Member, world.ids["admin"])), incident, teach=True)
    with pytest.raises(Forbidden):
        require_may_recategorise(outsider, incident)
    old = recategorise(session, incident, categories["fireworks"], actor=c1_leader, channel="api")
    assert old.code == "other" and incident.category.code == "fireworks"
    [note] = [e for e in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id))
              if "changes" in (e.data or {})]
    assert note.kind == "note" and set(note.data["changes"]) == {"category"}
