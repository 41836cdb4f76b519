"""Threat: privilege escalation. An area admin must never reach beyond her subtree — in particular never
grant the area-less "everywhere" admin (hole 1) — and every grant is audited with role AND area."""
from __future__ import annotations

from tests.support.api_helpers import As, as_, assert_error
from tests.security.helpers import area_admin, audit_entries, new_member, token_for

ESCALATE = [{"role": "admin", "area_code": "HD03-1"}, {"role": "admin"}]


def test_area_admin_cannot_make_herself_global_admin(app, client, world):
    """Hole 1: PATCH /members/<own id> adding {"role": "admin"} (no area) used to answer 200."""
    own_id, me = area_admin(client, world)
    assert_error(me.patch(f"/members/{own_id}", {"assignments": ESCALATE}), 403, "role_not_permitted")
    whoami = me.get("/auth/me").get_json()
    assert whoami["is_global_admin"] is False
    assert [g["area_code"] for g in whoami["scope"]] == ["HD03-1"]


def test_area_admin_cannot_create_a_global_admin(app, client, world):
    """Hole 1: the same body on POST /members created a member who could act everywhere by SMS."""
    _, me = area_admin(client, world)
    response = me.post("/members", {"name": "冒名", "phone": "+8617000000091", "assignments": ESCALATE})
    assert_error(response, 403, "role_not_permitted")
    assert as_(client, world, "admin").get("/members", {"phone": "+8617000000091"}).get_json()["total"] == 0


def test_area_admin_cannot_grant_outside_her_subtree(app, client, world):
    own_id, me = area_admin(client, world)
    assert_error(me.post("/members", {"name": "外区", "phone": "+8617000000092",
                                      "assignments": [{"role": "patroller", "area_code": "HD03-2-1"}]}), 403)
    assert_error(me.patch(f"/members/{own_id}", {"assignments": [{"role": "admin", "area_code": "HD03"}]}), 403)


def test_area_admin_still_manages_her_own_subtree(app, client, world):
    _, me = area_admin(client, world)
    created = me.post("/members", {"name": "新巡查", "phone": "+8617000000093",
                                   "assignments": [{"role": "patroller", "area_code": "HD03-1-2"}]})
    assert created.status_code == 201, created.get_json()


def test_every_grant_is_audited_with_role_and_area(app, client, world):
    """Hole 1: the audit log said roles ["admin"] before and after — the escalation was invisible."""
    global_admin = as_(client, world, "admin")
    member = new_member(client, world, "区管理员", "+8617000000094", [{"role": "admin", "area_code": "HD03-1"}])
    global_admin.patch(f"/members/{member['id']}", {"assignments": ESCALATE})
    created, updated = audit_entries(app, "member.create")[-1], audit_entries(app, "member.update")[-1]
    assert created["assignments"] == [{"role": "admin", "area": "HD03-1", "rank": 1}]
    assert updated["assignments_before"] == [{"role": "admin", "area": "HD03-1", "rank": 1}]
    assert {"role": "admin", "area": None, "rank": 1} in updated["assignments"]
    assert updated["assignments"] != updated["assignments_before"]


def test_a_global_admin_is_still_created_by_a_global_admin(app, client, world):
    response = as_(client, world, "admin").post("/members", {"name": "二号管理员", "phone": "+8617000000095",
                                                             "assignments": [{"role": "admin"}]})
    assert response.status_code == 201
    token = token_for(client, world, response.get_json()["id"])
    assert As(client, token).get("/auth/me").get_json()["is_global_admin"] is True


def test_escalated_member_cannot_act_by_sms(app, client, world):
    """The attack's payoff — acknowledging any incident by SMS — needs the global grant that is now refused."""
    from core.domain.access import Principal
    from core.db import db
    from core.models import Area, Member
    own_id, me = area_admin(client, world)
    me.patch(f"/members/{own_id}", {"assignments": ESCALATE})
    with app.app_context():
        principal = Principal.for_member(db.session.get(Member, own_id))
        assert not principal.is_global_admin
        assert not principal.in_scope(db.session.get(Area, world.ids["c2"]))
