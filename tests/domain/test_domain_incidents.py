"""The incident state machine and escalation levels, as plain domain rules (no HTTP)."""
from datetime import date, datetime, timezone

import pytest

from core.domain import incidents as rules
from core.domain.errors import Conflict, IllegalTransition, Invalid

ALL = ("open", "in_progress", "resolved", "closed", "rejected", "duplicate")


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_can_transition_matches_the_table(current, target):
    expected = {
        ("open", "in_progress"), ("open", "resolved"), ("open", "rejected"), ("open", "duplicate"),
        ("in_progress", "open"), ("in_progress", "resolved"), ("in_progress", "rejected"),
        ("in_progress", "duplicate"), ("resolved", "closed"), ("resolved", "in_progress"),
        ("closed", "open"), ("rejected", "open"), ("duplicate", "open"),
    }
    assert rules.can_transition(current, target) is ((current, target) in expected)


def test_deadlines_by_handling_class():
    now = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    immediate = rules.compute_deadline("immediate", "grid", now, "Asia/Shanghai")
    assert immediate == datetime(2026, 11, 20, 15, 59, 59, tzinfo=timezone.utc)
    committed = rules.compute_deadline("committed", "grid", now, "Asia/Shanghai", promised_date=date(2026, 12, 1))
    assert committed == datetime(2026, 12, 1, 15, 59, 59, tzinfo=timezone.utc)
    reported = rules.compute_deadline("reported", "subdistrict", now, "Asia/Shanghai")
    assert (reported - now).total_seconds() == 48 * 3600


@pytest.fixture
def w(session, world):
    """The world's records loaded into this test's session (the world fixture's session is closed)."""
    from types import SimpleNamespace
    from core.models import Area, Member
    return SimpleNamespace(**{k: session.get(Area, world.ids[k]) for k in ("g11", "c1")},
                           **{k: session.get(Member, world.ids[k]) for k in ("patroller", "c1_leader")})


def _incident(session, w, **kw):
    from sqlalchemy import select
    from core.models import Category
    category = session.scalar(select(Category).where(Category.code == "coal"))
    return rules.create_incident(session, category=category, area=w.g11, channel="api", source="staff", **kw)


def test_transition_writes_event_and_refuses_illegal_moves(session, w):
    incident = _incident(session, w, handling_class="immediate")
    event = rules.transition(session, incident, "resolved", channel="api", actor=w.patroller, kind="handled")
    assert (event.from_status, event.to_status, event.actor_label) == ("open", "resolved", "吴巡查")
    assert incident.resolved_at is not None
    with pytest.raises(IllegalTransition) as refused:
        rules.transition(session, incident, "open", channel="api")
    assert refused.value.details["allowed"] == ["closed", "in_progress"]
    assert incident.status == "resolved"
    rules.transition(session, incident, "closed", channel="api")
    rules.transition(session, incident, "open", channel="api")
    assert incident.closed_at is None and incident.resolved_at is None
    assert [e.kind for e in incident.events] == ["created", "handled", "status_change", "status_change"]


def test_escalation_levels_grid_to_district_then_top(session, w):
    incident = _incident(session, w, handling_class="immediate")
    assert incident.responsible_area is w.g11
    seen = []
    for _ in range(3):
        rules.escalate(session, incident, channel="worker", flag=True)
        seen.append(incident.responsible_level)
    assert seen == ["community", "subdistrict", "district"]
    assert incident.flagged and incident.escalation_count == 3 and incident.acknowledged_at is None
    with pytest.raises(Conflict) as top:
        rules.escalate(session, incident, channel="worker")
    assert top.value.code == "at_top_level"


def test_reported_starts_one_level_up_and_committed_needs_a_date(session, w):
    reported = _incident(session, w, handling_class="reported")
    assert reported.responsible_area is w.c1 and reported.responsible_level == "community"
    with pytest.raises(Invalid):
        _incident(session, w, handling_class="committed")


def test_acknowledge_moves_open_to_in_progress_but_not_resolved(session, w):
    incident = _incident(session, w)
    rules.acknowledge(session, incident, channel="sms", actor=w.c1_leader)
    assert incident.status == "in_progress" and incident.acknowledged_at is not None
    rules.handle(session, incident, channel="api")
    with pytest.raises(IllegalTransition):
        rules.acknowledge(session, incident, channel="sms")
    with pytest.raises(IllegalTransition):
        rules.escalate(session, incident, channel="worker")


def test_tickets_are_unique_and_increasing(session, w):
    tickets = [_incident(session, w).ticket for _ in range(3)]
    assert tickets == sorted(tickets, key=int) and len(set(tickets)) == 3
    assert rules.find_by_ticket(session, f" {tickets[1]} ").ticket == tickets[1]
