"""Threat (availability of one's own work, and the scope rule itself): the 待分类 list was cut to the 200
oldest items installation-wide and only then filtered by area, so a community with a big backlog hid every
other community's items from its leaders. The list is scoped in SQL, then ordered and limited."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.db import db
from core.models import Area, Category, utcnow
from tests.conftest import bearer


def _pending(session, area: Area, count: int, start, text: str) -> None:
    from core.domain.incidents import create_incident
    from sms.understanding.models import IncidentUnderstanding
    other = session.scalar(select(Category).where(Category.code == "other"))
    for n in range(count):
        incident = create_incident(session, category=other, area=area, channel="sms", source="resident",
                                   description=text, reporter_phone="+8613900000000",
                                   now=start + timedelta(minutes=n))
        session.add(IncidentUnderstanding(incident_id=incident.id, text=text, needs_triage=True))
    session.commit()


def test_a_big_backlog_elsewhere_does_not_hide_a_leaders_own_items(app, client, world):
    with app.app_context():
        start = utcnow() - timedelta(days=2)
        _pending(db.session, db.session.get(Area, world.ids["g21"]), 205, start, "白马那边有味道")
        _pending(db.session, db.session.get(Area, world.ids["g11"]), 2, start + timedelta(days=1), "映月这边有味道")
    response = client.get("/api/v1/triage", headers=bearer(world.tokens["c1_leader"]))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["area"] for i in items] == ["HD03-1-1", "HD03-1-1"]
    everything = client.get("/api/v1/triage", headers=bearer(world.tokens["admin"])).get_json()["items"]
    assert len(everything) == 200 and {i["area"] for i in everything} == {"HD03-2-1"}  # oldest first, capped
    with app.app_context():
        from core.domain.access import Principal
        from core.models import Member
        from sms.understanding.store import pending_triage
        leader = Principal.for_member(db.session.get(Member, world.ids["c2_leader"]))
        assert len(pending_triage(db.session, leader)) == 200  # her own backlog, still capped
        assert len(pending_triage(db.session, leader, limit=300)) == 205
