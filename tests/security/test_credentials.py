"""Threat: credentials outliving the person they were for. Reviving a removed member's phone clears the
old password and tokens and needs admin rights over her old areas (hole 3); deactivating revokes for good
(hole 4); concurrent logins cannot outrun the throttle (hole 11)."""
from __future__ import annotations

from tests.support.api_helpers import As, as_, assert_error
from tests.conftest import bearer
from tests.security.helpers import area_admin, new_member, token_for


def _login(client, phone, password):
    return client.post("/api/v1/auth/login", json={"phone": phone, "password": password})


def test_revived_member_does_not_keep_the_removed_members_password(app, client, world):
    """Hole 3: POST /members with a removed member's phone brought her back with has_password true."""
    admin = as_(client, world, "admin")
    old = new_member(client, world, "老人", "+8617000000080", [{"role": "patroller", "area_code": "HD03-1-1"}])
    assert admin.put(f"/members/{old['id']}/password", {"password": "old-secret-1"}).status_code == 204
    old_token = token_for(client, world, old["id"])
    assert admin.delete(f"/members/{old['id']}").status_code == 204
    revived = admin.post("/members", {"name": "新人", "phone": "+8617000000080",
                                      "assignments": [{"role": "patroller", "area_code": "HD03-1-1"}]})
    assert revived.status_code == 201
    assert revived.get_json()["id"] == old["id"] and revived.get_json()["has_password"] is False
    assert_error(_login(client, "+8617000000080", "old-secret-1"), 401, "bad_credentials")
    assert_error(As(client, old_token).get("/auth/me"), 401)


def test_area_admin_cannot_revive_someone_removed_from_another_district(app, client, world):
    """Hole 3: reviving needs admin rights over the member's previous areas, not only the new ones."""
    admin = as_(client, world, "admin")
    other = new_member(client, world, "外区人", "+8617000000081", [{"role": "patroller", "area_code": "HD03-2-1"}])
    admin.delete(f"/members/{other['id']}")
    _, area_admin_client = area_admin(client, world, "HD03-1")
    response = area_admin_client.post("/members", {"name": "冒用", "phone": "+8617000000081",
                                                   "assignments": [{"role": "patroller", "area_code": "HD03-1-1"}]})
    assert_error(response, 403)


def test_deactivation_revokes_tokens_and_devices_for_good(app, client, world):
    """Hole 4: {"active": false} then {"active": true} brought every old staff and device token back."""
    admin = as_(client, world, "admin")
    patroller = world.ids["patroller"]
    staff_token = token_for(client, world, patroller)
    assert As(client, staff_token).get("/auth/me").status_code == 200
    assert admin.patch(f"/members/{patroller}", {"active": False}).status_code == 200
    assert admin.patch(f"/members/{patroller}", {"active": True}).status_code == 200
    assert_error(As(client, staff_token).get("/auth/me"), 401)
    assert_error(As(client, world.tokens["patroller"]).get("/auth/me"), 401)
    response = client.post("/api/v1/sync", json={"device_id": world.ids["device"], "schema_version": 1},
                           headers=bearer(world.device_token))
    assert_error(response, 401)


def test_login_throttle_counts_failures(app, client, world):
    admin = as_(client, world, "admin")
    admin.put(f"/members/{world.ids['c1_leader']}/password", {"password": "right-password"})
    for _ in range(5):
        assert_error(_login(client, "+8617000000003", "wrong-password"), 401)
    assert_error(_login(client, "+8617000000003", "right-password"), 429, "rate_limited")


def test_sms_pin_is_required_when_the_office_sets_one(app, client, world):
    """Hole 11: staff SMS commands trust the caller id alone unless the office sets a PIN for the member."""
    admin = as_(client, world, "admin")
    response = admin.patch(f"/members/{world.ids['patroller']}", {"sms_pin": "4821"})
    assert response.status_code == 200 and response.get_json()["has_sms_pin"] is True
    assert_error(admin.patch(f"/members/{world.ids['patroller']}", {"sms_pin": "12"}), 422)


def _text(app, sender: str, body: str, sid: str) -> str:
    from core.db import db
    from sms.inbound import receive
    with app.app_context():
        row = receive(db.session, message_sid=sid, sender=sender, body=body, config=dict(app.config))
        reply, stored = row.reply, row.body
        db.session.commit()
        return reply, stored


def test_staff_sms_command_needs_the_pin_and_the_log_never_keeps_it(app, client, world):
    admin = as_(client, world, "admin")
    admin.patch(f"/members/{world.ids['patroller']}", {"sms_pin": "4821"})
    without, _ = _text(app, "+8617000000007", "巡查 HD03-1-1 正常", "SMpin1")
    assert "PIN" in without
    wrong, _ = _text(app, "+8617000000007", "巡查 HD03-1-1 正常 *1111", "SMpin2")
    assert "PIN" in wrong
    right, stored = _text(app, "+8617000000007", "巡查 HD03-1-1 正常 *4821", "SMpin3")
    assert "HD03-1-1" in right and "PIN" not in right
    assert "4821" not in stored
    assert as_(client, world, "admin").get("/patrols", {"within": "HD03-1-1"}).get_json()["total"] == 1
