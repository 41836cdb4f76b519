"""Incidents through the API: report, filter, detail with history, actions, scoping."""
from datetime import timedelta

from tests.support.api_helpers import As, as_, assert_error, audit_actions


def _report(api, **extra):
    body = {"category": 5, "area": "HD03-1-1", "location_text": "映月路12号", "description": "烧煤",
            "handling_class": "immediate", **extra}
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_report_and_lookup_by_ticket_or_id(client, world):
    patroller = as_(client, world, "patroller")
    incident = _report(patroller)
    assert incident["status"] == "open" and incident["responsible_area_code"] == "HD03-1-1"
    assert incident["category_code"] == "coal" and incident["allowed_next"] == ["duplicate", "in_progress",
                                                                                "rejected", "resolved"]
    assert [e["kind"] for e in incident["events"]] == ["created"]
    reported = _report(patroller, handling_class="reported", category="garbage_burning")
    assert reported["responsible_area_code"] == "HD03-1" and reported["responsible_level"] == "community"
    by_ticket = patroller.get(f"/incidents/{incident['ticket']}").get_json()
    assert by_ticket["id"] == incident["id"]
    assert patroller.get(f"/incidents/{incident['id']}").get_json()["ticket"] == incident["ticket"]
    assert_error(patroller.get("/incidents/999999"), 404)
    body = assert_error(patroller.post("/incidents", {"category": 5, "area": "HD03-1-1",
                                                      "handling_class": "committed"}), 422)
    assert "promised_date" in body["details"]


def test_full_lifecycle_writes_events_with_actor_and_channel(app, client, world):
    incident = _report(as_(client, world, "patroller"))
    ref = incident["ticket"]
    leader = as_(client, world, "g11_leader")
    assert leader.post(f"/incidents/{ref}/acknowledge", {"note": "收到"}).get_json()["status"] == "in_progress"
    assert leader.post(f"/incidents/{ref}/note", {"note": "已联系住户"}).status_code == 200
    patroller = as_(client, world, "patroller")
    assert patroller.post(f"/incidents/{ref}/handle", {"note": "已劝导"}).get_json()["status"] == "resolved"
    closed = leader.post(f"/incidents/{ref}/close", {}).get_json()
    assert closed["status"] == "closed" and closed["closed_at"]
    reopened = leader.post(f"/incidents/{ref}/reopen", {"note": "又烧了"}).get_json()
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    kinds = [e["kind"] for e in reopened["events"]]
    assert kinds[:3] == ["created", "status_change", "acknowledged"] and kinds.count("status_change") == 3
    assert {"acknowledged", "note", "handled"} <= set(kinds)
    api_events = [e for e in reopened["events"] if e["kind"] != "created"]
    assert all(e["channel"] == "api" and e["actor_member_id"] for e in api_events)
    audited = as_(client, world, "admin").get("/audit", {"action": "incident.handle"}).get_json()["items"][0]
    assert audited["summary"]["event_id"] == next(e["id"] for e in reopened["events"] if e["kind"] == "handled")
    handled = next(e for e in reopened["events"] if e["kind"] == "handled")
    assert (handled["actor_label"] == "吴巡查" and handled["from_status"] == "in_progress"
            and handled["to_status"] == "resolved")
    actions = audit_actions(app)
    for action in ("incident.create", "incident.acknowledge", "incident.note", "incident.handle", "incident.close",
                   "incident.reopen"):
        assert action in actions


def test_illegal_transition_names_allowed_states(client, world):
    ref = _report(as_(client, world, "patroller"))["ticket"]
    admin = as_(client, world, "admin")
    body = assert_error(admin.post(f"/incidents/{ref}/close", {}), 409, "illegal_transition")
    assert body["details"]["allowed"] == ["duplicate", "in_progress", "rejected", "resolved"]
    assert "resolved" in body["details"]["status"][0]
    admin.post(f"/incidents/{ref}/handle", {})
    assert_error(admin.post(f"/incidents/{ref}/escalate", {}), 409, "illegal_transition")
    assert_error(admin.post(f"/incidents/{ref}/acknowledge", {}), 409, "illegal_transition")
    # nothing was written by the refused actions
    assert [e["kind"] for e in admin.get(f"/incidents/{ref}").get_json()["events"]] == ["created", "handled"]


def test_escalation_climbs_levels_to_the_top(client, world):
    ref = _report(as_(client, world, "patroller"))["ticket"]
    admin = as_(client, world, "admin")
    levels = []
    for _ in range(3):
        body = admin.post(f"/incidents/{ref}/escalate", {"reason": "超时", "flag": True}).get_json()
        levels.append((body["responsible_area_code"], body["responsible_level"]))
    assert levels == [("HD03-1", "community"), ("HD03", "subdistrict"), ("HD", "district")]
    assert body["flagged"] is True and body["escalation_count"] == 3
    assert_error(admin.post(f"/incidents/{ref}/escalate", {}), 409, "at_top_level")
    assert [e["to_area_code"] for e in body["events"] if e["kind"] == "escalated"] == ["HD03-1", "HD03", "HD"]


def test_patroller_token_cannot_act_as_leader(client, world):
    ref = _report(as_(client, world, "patroller"))["ticket"]
    patroller = as_(client, world, "patroller")
    for action in ("acknowledge", "close", "reopen", "reject"):
        assert_error(patroller.post(f"/incidents/{ref}/{action}", {}), 403, "role_not_permitted")
    assert_error(patroller.post(f"/incidents/{ref}/reassign", {"area": "HD03-1-2"}), 403, "role_not_permitted")


def test_community_leader_sees_and_acts_on_her_community_only(client, world):
    mine = _report(as_(client, world, "patroller"))
    theirs = _report(as_(client, world, "admin"), area="HD03-2-1")
    c1 = as_(client, world, "c1_leader")
    assert [i["ticket"] for i in c1.get("/incidents").get_json()["items"]] == [mine["ticket"]]
    assert_error(c1.get(f"/incidents/{theirs['ticket']}"), 403, "out_of_scope")
    assert_error(c1.post(f"/incidents/{theirs['ticket']}/acknowledge", {}), 403, "out_of_scope")
    assert_error(c1.post("/incidents", {"category": 5, "area": "HD03-2-1"}), 403, "out_of_scope")
    # Escalated above her community, the problem stays visible where it was found but she may not close it.
    admin = as_(client, world, "admin")
    admin.post(f"/incidents/{mine['ticket']}/escalate", {})
    admin.post(f"/incidents/{mine['ticket']}/escalate", {})
    assert c1.get(f"/incidents/{mine['ticket']}").status_code == 200
    assert as_(client, world, "sub_leader").get("/incidents").get_json()["total"] == 2


def test_reject_duplicate_and_reassign(client, world):
    first = _report(as_(client, world, "patroller"))
    second = _report(as_(client, world, "patroller"))
    leader = as_(client, world, "c1_leader")
    dup = leader.post(f"/incidents/{second['ticket']}/reject", {"duplicate_of": first["ticket"]}).get_json()
    assert dup["status"] == "duplicate" and dup["duplicate_of_id"] == first["id"]
    assert_error(leader.post(f"/incidents/{first['ticket']}/reject", {"duplicate_of": first["ticket"]}), 422)
    moved = leader.post(f"/incidents/{first['ticket']}/reassign", {"area": "HD03-1-2", "note": "属二网格"}).get_json()
    assert moved["responsible_area_code"] == "HD03-1-2"
    assert_error(leader.post(f"/incidents/{first['ticket']}/reassign", {"area": "HD03-2-1"}), 403, "out_of_scope")
    rejected = leader.post(f"/incidents/{first['ticket']}/reject", {"note": "误报"}).get_json()
    assert rejected["status"] == "rejected"
    assert_error(leader.post(f"/incidents/{first['ticket']}/reassign", {"area": "HD03-1-1"}), 409,
                 "illegal_transition")
    assert_error(leader.post(f"/incidents/{first['ticket']}/note", {"note": ""}), 422)


def _in_days(days: int) -> str:
    """A promised date N days from today in Shanghai (promises run from today to at most 30 days ahead)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def test_list_filters(app, client, world):
    admin = as_(client, world, "admin")
    a = _report(admin)
    b = _report(admin, area="HD03-2-1", category="fireworks", handling_class="reported", source="volunteer")
    c = _report(admin, area="HD03-1-2", handling_class="committed", promised_date=_in_days(1))
    admin.post(f"/incidents/{b['ticket']}/escalate", {"flag": True})
    admin.post(f"/incidents/{c['ticket']}/handle", {})

    def tickets(**query):
        response = admin.get("/incidents", query)
        assert response.status_code == 200, response.get_json()
        return sorted(i["ticket"] for i in response.get_json()["items"])

    assert tickets() == sorted([a["ticket"], b["ticket"], c["ticket"]])
    assert tickets(within="HD03-1") == sorted([a["ticket"], c["ticket"]])
    assert tickets(status=["open", "in_progress"]) == sorted([a["ticket"], b["ticket"]])
    assert tickets(category="6") == [b["ticket"]] == tickets(category="fireworks")
    assert tickets(handling_class="committed") == [c["ticket"]]
    assert tickets(flagged="true") == [b["ticket"]]
    assert tickets(source="volunteer") == [b["ticket"]]
    assert tickets(ticket=a["ticket"]) == [a["ticket"]]
    assert tickets(responsible_level="subdistrict") == [b["ticket"]]
    assert tickets(since="2000-01-01T00:00:00Z", until="2001-01-01T00:00:00Z") == []
    assert tickets(overdue="true") == []
    from core.db import db
    from core.models import Incident, utcnow
    with app.app_context():
        incident = db.session.get(Incident, a["id"])
        incident.deadline = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert tickets(overdue="true") == [a["ticket"]]
    assert admin.get(f"/incidents/{a['ticket']}").get_json()["overdue"] is True
    assert admin.get("/incidents", {"per_page": 2}).get_json()["total"] == 3
    assert_error(admin.get("/incidents", {"status": "sleeping"}), 422)
    assert_error(admin.get("/incidents", {"category": "nope"}), 422)


def test_device_token_refused_and_missing_token(client, world):
    assert_error(As(client, world.device_token).get("/incidents"), 403, "wrong_token_kind")
    assert_error(As(client, None).get("/incidents"), 401, "missing_token")
    assert_error(As(client, "gps_forged").get("/incidents"), 401, "bad_token")
    response = client.get("/api/v1/incidents", headers={"Authorization": "Basic abc"})
    assert_error(response, 401, "bad_token")


def test_correcting_a_report_keeps_the_old_values_in_history(app, client, world):
    incident = _report(as_(client, world, "patroller"))
    ref = incident["ticket"]
    leader = as_(client, world, "c1_leader")
    fixed = leader.patch(f"/incidents/{ref}", {"category": "cured_meat", "location_text": "映月路14号",
                                               "handling_class": "committed", "promised_date": _in_days(20)})
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert body["category_code"] == "cured_meat" and body["deadline"].startswith(_in_days(20) + "T15:59:59")
    correction = body["events"][-1]
    assert correction["kind"] == "note" and correction["data"]["changes"]["category"] == {"from": "coal",
                                                                                           "to": "cured_meat"}
    assert correction["data"]["changes"]["location_text"]["from"] == "映月路12号"
    same = leader.patch(f"/incidents/{ref}", {"location_text": "映月路14号"}).get_json()
    assert len(same["events"]) == len(body["events"])  # no change, no event
    assert_error(leader.patch(f"/incidents/{ref}", {"promised_date": None}), 422)
    assert_error(leader.patch(f"/incidents/{ref}", {"status": "closed"}), 422)
    assert_error(as_(client, world, "c2_leader").patch(f"/incidents/{ref}", {"description": "x"}), 403, "out_of_scope")
    leader.post(f"/incidents/{ref}/handle", {})
    assert_error(leader.patch(f"/incidents/{ref}", {"handling_class": "immediate"}), 409, "illegal_transition")
    assert audit_actions(app).count("incident.update") == 1
