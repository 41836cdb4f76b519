"""Threat: reading or acting outside one's areas, through the API or device sync. The permission table
(core/domain/access.py) decides both; a device pulls what its member's roles may read (hole 2)."""
from __future__ import annotations

import pytest

from tests.support.api_helpers import As, as_, assert_error
from tests.security.helpers import area_admin, new_member
from tests.support.sync_helpers import change, new_id, ok, patrol_fields, pull_all, sync


def _device_for(app, member_id: int):
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Member
    with app.app_context():
        device, token = register_device(db.session, db.session.get(Member, member_id), name="phone")
        db.session.commit()
        return device.id, token


def test_volunteer_device_pulls_nothing(app, client, world):
    """Hole 2: a volunteer's device pulled the whole subtree (members, incidents, patrols, sites)."""
    ok(sync(client, world.device_token, world.ids["device"],
            [change("patrols", new_id(), patrol_fields(world.ids["g11"]))]))
    volunteer = new_member(client, world, "红袖标", "+8617000000070", [{"role": "volunteer", "area_code": "HD03"}])
    device_id, token = _device_for(app, volunteer["id"])
    pulled, _ = pull_all(client, token, device_id)
    assert pulled == {}


def test_patroller_device_pulls_only_her_grid(app, client, world):
    ok(sync(client, world.device2_token, world.ids["device2"],
            [change("patrols", new_id(), patrol_fields(world.ids["g21"]))]))
    pulled, _ = pull_all(client, world.device_token, world.ids["device"])
    areas = {entry["fields"]["code"] for (c, _), entry in pulled.items() if c == "areas"}
    assert areas == {"HD03-1-1"}
    assert not [key for key in pulled if key[0] == "patrols"]  # the other grid's patrol stays there


def test_sync_reads_with_the_api_reading_rule():
    """One definition: every synced collection is read by the table's readers; volunteers read nothing."""
    from core.domain.access import READERS, SYNCED_COLLECTIONS, rule
    for collection in SYNCED_COLLECTIONS:
        assert rule(collection, "read").roles == READERS
        assert "volunteer" not in rule(collection, "read").roles


def test_duplicate_of_outside_scope_is_neither_accepted_nor_revealed(app, client, world):
    """Hole 10: reject with duplicate_of accepted an incident outside the actor's scope and told its ticket."""
    admin, leader = as_(client, world, "admin"), as_(client, world, "c1_leader")
    mine = admin.post("/incidents", {"category": "coal", "area": "HD03-1-1"}).get_json()
    theirs = admin.post("/incidents", {"category": "coal", "area": "HD03-2-1",
                                       "handling_class": "immediate"}).get_json()
    response = leader.post(f"/incidents/{mine['ticket']}/reject", {"duplicate_of": theirs["ticket"]})
    body = assert_error(response, 404)
    assert theirs["ticket"] not in str(body) or body["details"] == {"duplicate_of": [
        f"No incident with id or ticket {theirs['ticket']}."]}
    assert admin.get(f"/incidents/{mine['ticket']}").get_json()["status"] == "open"


def test_duplicate_phone_does_not_name_the_holder(app, client, world):
    """Hole 10: a 409 told an area admin the name behind any phone in the installation."""
    _, me = area_admin(client, world, "HD03-1")
    response = me.post("/members", {"name": "试探", "phone": "+8617000000008",  # 郑巡查, another community
                                    "assignments": [{"role": "patroller", "area_code": "HD03-1-1"}]})
    body = assert_error(response, 409, "duplicate_phone")
    assert "郑巡查" not in str(body) and f"member {world.ids['patroller2']}" not in str(body)


def test_roster_dry_run_neither_names_nor_attaches_members_of_other_districts(app, client, world):
    """Hole 10: a roster dry run named the person behind a phone; a commit attached her to the importer's area."""
    _, me = area_admin(client, world, "HD03-1")
    sheet = "社区,网格,姓名,电话,角色\n映月社区,映月一网格,随便,17000000008,网格员\n".encode()
    dry = me.client.post("/api/v1/roster/import?parent=HD03-1", data=sheet, headers=me.headers)
    text = dry.get_data(as_text=True)
    assert "郑巡查" not in text
    commit = me.client.post("/api/v1/roster/import?parent=HD03-1&commit=true", data=sheet, headers=me.headers)
    assert commit.status_code in (403, 422)
    roles = as_(client, world, "admin").get(f"/members/{world.ids['patroller2']}").get_json()["assignments"]
    assert [a["area_code"] for a in roles] == ["HD03-2-1"]


def test_resident_text_with_another_incidents_id_gets_a_new_ticket(app, client, world):
    """Hole 10: a resident text carrying another incident's #<uuid> was answered with that incident's ticket."""
    from core.db import db
    from sms.inbound import receive
    admin = as_(client, world, "admin")
    secret = admin.post("/incidents", {"category": "coal", "area": "HD03-2-1"}).get_json()
    with app.app_context():
        row = receive(db.session, message_sid="SMprobe1", sender="+8613912345678",
                      body=f"举报 烧煤 映月路 #{secret['id']}", config=dict(app.config))
        db.session.commit()
        reply = row.reply
    assert secret["ticket"] not in reply


# ---- every endpoint family with each role's token ----------------------------------------------------

ROLES = ["admin", "sub_leader", "c1_leader", "g11_leader", "patroller", "volunteer", "area_admin", "device"]

# (family, method, path, body, roles that may — everyone else gets 401/403; reads of nothing get 200 empty)
FAMILIES = [
    ("areas.create", "post", "/areas", {"code": "HD03-1-9", "name": "新网格", "kind": "grid", "parent": "HD03-1"},
     {"admin", "area_admin"}),
    ("areas.update", "patch", "/areas/{c2}", {"name": "白马社区二"}, {"admin"}),
    ("members.create", "post", "/members", {"name": "新人", "phone": "+8617000000060",
                                            "assignments": [{"role": "patroller", "area_code": "HD03-1-2"}]},
     {"admin", "area_admin"}),
    ("members.global_admin", "post", "/members", {"name": "篡位", "phone": "+8617000000061",
                                                  "assignments": [{"role": "admin"}]}, {"admin"}),
    ("categories.create", "post", "/categories",
     {"code": "dust2", "number": 77, "name_zh": "扬尘二", "name_en": "Dust 2"}, {"admin"}),
    ("schedules.create", "post", "/schedules", {"area": "HD03-1", "name": "冬季", "windows": [
        {"start": "08:00", "end": "12:00"}]}, {"admin", "sub_leader", "c1_leader", "area_admin"}),
    ("incidents.create", "post", "/incidents", {"category": "coal", "area": "HD03-1-1"},
     {"admin", "sub_leader", "c1_leader", "g11_leader", "patroller", "area_admin"}),
    ("sites.create", "post", "/sites", {"area": "HD03-1-1", "address": "映月路1号"},
     {"admin", "sub_leader", "c1_leader", "g11_leader", "patroller", "area_admin"}),
    ("patrols.create", "post", "/patrols", {"area": "HD03-1-1", "started_at": "2026-11-20T00:30:00Z"},
     {"admin", "sub_leader", "c1_leader", "g11_leader", "patroller", "area_admin"}),
    ("audit.read", "get", "/audit", None, {"admin"}),
    ("messages.read", "get", "/messages", None, {"admin", "sub_leader", "c1_leader", "g11_leader", "area_admin"}),
    ("devices.create", "post", "/devices", {"member_id": "{patroller}"}, {"admin", "area_admin"}),
    ("reports.create", "post", "/reports/weekly", {"area_id": "{subdistrict}"}, {"admin", "sub_leader"}),
    ("worker_health.read", "get", "/workers/health", None, {"admin"}),
    ("auth.tokens.issue", "post", "/auth/tokens", {"member_id": "{patroller}"}, {"admin", "area_admin"}),
    ("roster.import", "post", "/roster/import?parent=HD03-1", {"not": "a sheet"}, {"admin", "area_admin"}),
    ("incidents.acknowledge", "post", "/incidents/{ticket}/acknowledge", {},
     {"admin", "sub_leader", "c1_leader", "g11_leader", "area_admin"}),
    ("incidents.handling", "patch", "/incidents/{ticket}", {"handling_class": "immediate"},
     {"admin", "sub_leader", "c1_leader", "g11_leader", "area_admin"}),
    ("incidents.reassign", "post", "/incidents/{ticket}/reassign", {"area": "HD03-1-2"},
     {"admin", "sub_leader", "c1_leader", "area_admin"}),
    ("alerts.read", "get", "/workers/alerts", None, set(ROLES) - {"device"}),
    ("sync", "post", "/sync", {"device_id": "{device}", "schema_version": 1}, {"device"}),
]


def _actor(client, world, app, role: str) -> As:
    if role == "device":
        return As(client, world.device_token)
    if role == "volunteer":
        member = new_member(client, world, "志愿者", "+8617000000062", [{"role": "volunteer", "area_code": "HD03-1"}])
        from tests.security.helpers import token_for
        return As(client, token_for(client, world, member["id"]))
    if role == "area_admin":
        return area_admin(client, world, "HD03-1", "+8617000000063")[1]
    return as_(client, world, role)


def _fill(value, world):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world.ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_family_with_each_roles_token(app, client, world, role):
    """Table-driven: each family, each role's token: allowed ones succeed, the rest get 401/403 in the one
    error shape (reads the role may not do answer 403 or an empty page), and nothing ever answers 500."""
    actor = _actor(client, world, app, role)
    created = as_(client, world, "admin").post("/incidents", {"category": "coal", "area": "HD03-1-1"})
    ticket = created.get_json()["ticket"]
    for family, method, path, body, allowed in FAMILIES:
        path = path.format(ticket=ticket, **{k: world.ids[k] for k in ("c2",)})
        body = _fill(body, world)
        response = getattr(actor, method)(path, body) if body is not None else getattr(actor, method)(path)
        assert response.status_code < 500, (family, role, response.get_data(as_text=True))
        if role in allowed:  # permitted: it works, or fails on the input (roster: not a sheet), never 401/403
            assert response.status_code not in (401, 403), (family, role, response.get_json())
        elif method == "get" and response.status_code == 200:
            assert response.get_json().get("total", len(response.get_json().get("items", []))) == 0 or \
                family != "messages.read", (family, role)
        else:
            assert_error(response, response.status_code)
            assert response.status_code in (401, 403), (family, role, response.get_json())


def test_sms_query_follows_the_reading_rule(app, client, world):
    """SMS commands ask the same table: a volunteer reads nobody else's tickets by SMS either."""
    from core.db import db
    from sms.inbound import receive
    new_member(client, world, "红袖标", "+8617000000071", [{"role": "volunteer", "area_code": "HD03-1"}])
    created = as_(client, world, "admin").post("/incidents", {"category": "coal", "area": "HD03-1-1"})
    ticket = created.get_json()["ticket"]
    replies = {}
    for sender, sid in (("+8617000000071", "SMq1"), ("+8617000000005", "SMq2")):
        with app.app_context():
            row = receive(db.session, message_sid=sid, sender=sender, body=f"查询 {ticket}", config=dict(app.config))
            db.session.commit()
            replies[sender] = row.reply
    assert "未找到" in replies["+8617000000071"]
    assert "未找到" not in replies["+8617000000005"] and ticket in replies["+8617000000005"]
