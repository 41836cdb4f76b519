"""One ticket allocator for every channel: race-free even for the very first incident (PostgreSQL), and the
ORM path and the sync COPY path build incidents with the same row builder."""
from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from core.domain.tickets import FIRST_TICKET, allocate_tickets, next_ticket

pytestmark = pytest.mark.both_databases  # the ticket counter is an upsert per dialect; first tickets race


def test_tickets_are_consecutive_across_single_and_batch_allocation(session):
    assert next_ticket(session) == str(FIRST_TICKET)
    assert allocate_tickets(session, 3) == [str(FIRST_TICKET + i) for i in (1, 2, 3)]
    assert allocate_tickets(session, 0) == []
    assert next_ticket(session) == str(FIRST_TICKET + 4)


def test_two_first_incidents_at_once_both_get_a_ticket(postgres_url, tmp_path):
    """Was: `incidents.next_ticket` INSERTed the counter row plainly; the second of two first incidents
    waited on the first's row lock and then failed with a unique violation."""
    from core.domain.incidents import create_incident
    from core.db import db
    from core.models import Area, Category, Incident
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    app = make_app(postgres_url, tmp_path)
    with app.app_context():
        reset_database(db)
        build_world(db.session)
        db.session.commit()
        area_id = db.session.scalar(select(Area.id).where(Area.code == "HD03-1-1"))
        category_id = db.session.scalar(select(Category.id).where(Category.code == "coal"))

    def report(holder: list, started: threading.Event | None = None, go: threading.Event | None = None):
        with app.app_context():
            try:
                area, category = db.session.get(Area, area_id), db.session.get(Category, category_id)
                incident = create_incident(db.session, category=category, area=area, channel="api", source="staff",
                                           handling_class="immediate")
                holder.append(incident.ticket)
                if started is not None:
                    started.set()
                    go.wait(10)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the assertion below names it
                holder.append(exc)
                db.session.rollback()
                if started is not None:
                    started.set()
            finally:
                db.session.remove()

    first, second = [], []
    started, go = threading.Event(), threading.Event()
    a = threading.Thread(target=report, args=(first, started, go))
    a.start()
    assert started.wait(30)  # the first holds its new counter row, uncommitted
    b = threading.Thread(target=report, args=(second,))
    b.start()
    b.join(2.0)  # the second now waits on that row
    go.set()
    a.join(30)
    b.join(30)
    assert not isinstance(first[0], Exception), first
    assert not isinstance(second[0], Exception), second
    assert sorted([first[0], second[0]]) == [str(FIRST_TICKET), str(FIRST_TICKET + 1)]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Incident.id))) == 2
        db.session.remove()
        db.engine.dispose()


def test_orm_and_sync_paths_build_the_same_incident(app, client, world):
    """`create_incident` (API, SMS) and a sync push (COPY) share `new_incident_row`: same responsible
    level, deadline, state and created event for the same report."""
    from core.domain.incidents import create_incident
    from core.db import db
    from core.models import Area, Category, Incident, IncidentEvent
    from tests.support.sync_helpers import change, new_id, ok, sync
    # The promised date must lie ahead of "today": the test runs on the day the report is made.
    with time_machine.travel(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc), tick=True):
        with app.app_context():
            area = db.session.get(Area, world.ids["g11"])
            category = db.session.scalar(select(Category).where(Category.code == "coal"))
            category_id = category.id
            orm = create_incident(db.session, category=category, area=area, channel="api", source="patrol",
                                  handling_class="committed", promised_date=date(2026, 11, 30),
                                  now=datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
            db.session.commit()
            orm_id = orm.id
        sid = new_id()
        fields = {"category_id": category_id, "area_id": world.ids["g11"], "handling_class": "committed",
                  "promised_date": "2026-11-30", "reported_at": "2026-11-23T02:00:00Z"}
        body = ok(sync(client, world.device_token, world.ids["device"], [change("incidents", sid, fields)]))
        assert body["results"][0]["status"] == "applied", body
        with app.app_context():
            orm, synced = db.session.get(Incident, orm_id), db.session.get(Incident, sid)
            same = ("responsible_area_id", "responsible_level", "handling_class", "promised_date", "status",
                    "deadline", "escalation_count", "flagged")
            assert {k: getattr(synced, k) for k in same} == {k: getattr(orm, k) for k in same}
            assert int(synced.ticket) == int(orm.ticket) + 1
            created = {e.incident_id: (e.kind, e.to_status, e.to_area_id) for e in
                       db.session.scalars(select(IncidentEvent).where(IncidentEvent.kind == "created"))}
            assert created[orm_id] == created[sid]


@pytest.mark.parametrize("handling", ["committed"])
def test_committed_without_promised_date_is_refused_by_every_path(session, handling):
    from core.domain.incidents import new_incident_row
    from core.domain.errors import Invalid
    with pytest.raises(Invalid) as refused:
        new_incident_row(category=None, area=None, responsible=None, tz="Asia/Shanghai", source="sms",
                         handling_class=handling, reported_at=datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert "promised_date" in refused.value.details
