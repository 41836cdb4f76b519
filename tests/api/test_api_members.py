"""Members, devices and staff auth through the API."""
from tests.support.api_helpers import As, as_, assert_error, audit_actions


def test_create_member_normalizes_phone_and_validates_assignments(app, client, world):
    admin = as_(client, world, "admin")
    created = admin.post("/members", {"name": "王巡查", "phone": "170 0000 0099",
                                      "assignments": [{"role": "patroller", "area_code": "HD03-1-2"},
                                                      {"role": "grid_leader", "area_id": world.ids["g12"], "rank": 2}]})
    assert created.status_code == 201, created.get_json()
    member = created.get_json()
    assert member["phone"] == "+8617000000099"
    assert member["roles"] == ["grid_leader", "patroller"]
    assert {a["area_code"] for a in member["assignments"]} == {"HD03-1-2"}
    assert "member.create" in audit_actions(app)


def test_duplicate_phone_is_field_level_409(client, world):
    body = assert_error(as_(client, world, "admin").post("/members", {"name": "重复", "phone": "+86 170-0000-0007"}),
                        409, "duplicate_phone")
    assert "phone" in body["details"]


def test_bad_assignments_are_reported_row_by_row_and_nothing_is_written(client, world):
    admin = as_(client, world, "admin")
    body = assert_error(admin.post("/members", {"name": "错", "phone": "17000000098", "assignments": [
        {"role": "patroller", "area_code": "HD03-1-1"},
        {"role": "community_leader", "area_id": world.ids["g11"]},   # leader role on the wrong kind of area
        {"role": "patroller", "area_id": 99999},
        {"role": "patroller"}]}), 422)
    rows = body["details"]["assignments"]
    assert set(rows) == {"1", "2", "3"} and "role" in rows["1"] and "area_id" in rows["2"]
    assert admin.get("/members", {"phone": "17000000098"}).get_json()["total"] == 0


def test_bad_phone_is_422_on_phone(client, world):
    body = assert_error(as_(client, world, "admin").post("/members", {"name": "x", "phone": "abc"}), 422)
    assert "phone" in body["details"]


def test_filters_and_scope(client, world):
    admin = as_(client, world, "admin")
    assert admin.get("/members").get_json()["total"] == 8
    names = {m["name"] for m in admin.get("/members", {"within": "HD03-1", "role": "patroller"}).get_json()["items"]}
    assert names == {"吴巡查"}
    assert [m["name"] for m in admin.get("/members", {"phone": "170 0000 0003"}).get_json()["items"]] == ["钱社区"]
    assert [m["name"] for m in admin.get("/members", {"name": "巡查"}).get_json()["items"]] == ["吴巡查", "郑巡查"]
    leader = as_(client, world, "c1_leader")
    visible = {m["name"] for m in leader.get("/members").get_json()["items"]}
    assert visible == {"钱社区", "李网格", "周副组长", "吴巡查"}
    assert_error(leader.get(f"/members/{world.ids['patroller2']}"), 403, "out_of_scope")
    assert_error(leader.post("/members", {"name": "x", "phone": "17000000097"}), 403, "role_not_permitted")


def test_update_deactivate_and_password_login(app, client, world):
    admin = as_(client, world, "admin")
    pid = world.ids["patroller"]
    updated = admin.patch(f"/members/{pid}", {"locale": "en", "phone": "17000000077"}).get_json()
    assert updated["locale"] == "en" and updated["phone"] == "+8617000000077"
    assert_error(admin.put(f"/members/{pid}/password", {"password": "short"}), 422)
    assert admin.put(f"/members/{pid}/password", {"password": "correct horse"}).status_code == 204
    assert_error(As(client, None).post("/auth/login", {"phone": "17000000077", "password": "wrong"}), 401,
                 "bad_credentials")
    login = As(client, None).post("/auth/login", {"phone": "+86 170 0000 0077", "password": "correct horse"})
    assert login.status_code == 201
    token = login.get_json()["token"]
    assert login.get_json()["expires_at"] is not None
    me = As(client, token).get("/auth/me").get_json()
    assert me["name"] == "吴巡查" and me["roles"] == ["patroller"] and me["scope"][0]["area_code"] == "HD03-1-1"
    assert admin.delete(f"/members/{pid}").status_code == 204
    assert_error(As(client, token).get("/auth/me"), 401, "bad_token")
    assert_error(As(client, world.device_token).post("/auth/login", {}), 422)
    assert "member.set_password" in audit_actions(app)


def test_staff_tokens_issue_list_revoke(app, client, world):
    admin = as_(client, world, "admin")
    issued = admin.post("/auth/tokens", {"member_id": world.ids["c2_leader"], "name": "office pc",
                                         "expires_in_days": 7})
    assert issued.status_code == 201
    token, token_id = issued.get_json()["token"], issued.get_json()["id"]
    assert As(client, token).get("/auth/me").get_json()["name"] == "孙社区"
    listed = admin.get("/auth/tokens", {"member_id": world.ids["c2_leader"]}).get_json()
    assert listed["total"] == 2 and all("token" not in t for t in listed["items"])
    assert_error(as_(client, world, "c1_leader").delete(f"/auth/tokens/{token_id}"), 403)
    assert admin.delete(f"/auth/tokens/{token_id}").status_code == 204
    assert_error(As(client, token).get("/auth/me"), 401, "bad_token")
    assert_error(admin.delete("/auth/tokens/99999"), 404)
    assert_error(as_(client, world, "patroller").post("/auth/tokens", {"member_id": world.ids["admin"]}), 403)
    assert audit_actions(app)[-2:] == ["staff_token.issue", "staff_token.revoke"]


def test_me_reports_scope(client, world):
    me = as_(client, world, "admin").get("/auth/me").get_json()
    assert me["is_global_admin"] is True and me["scope"] == [{"role": "admin", "area_id": None, "area_code": None,
                                                              "rank": 1}]


def test_device_register_list_revoke(app, client, world):
    admin = as_(client, world, "admin")
    registered = admin.post("/devices", {"member_id": world.ids["patroller2"], "name": "新手机"})
    assert registered.status_code == 201
    device = registered.get_json()
    assert device["token"].startswith("gpd_") and device["token"].startswith(device["token_prefix"])
    # A device token is refused on staff endpoints, then refused everywhere once revoked.
    assert_error(As(client, device["token"]).get("/areas"), 403, "wrong_token_kind")
    listed = admin.get("/devices", {"member_id": world.ids["patroller2"]}).get_json()
    assert listed["total"] == 2 and all("token" not in d for d in listed["items"])
    revoked = admin.delete(f"/devices/{device['id']}").get_json()
    assert revoked["active"] is False
    assert_error(As(client, device["token"]).get("/areas"), 401, "bad_token")
    assert admin.get("/devices", {"active": False}).get_json()["total"] == 1
    leader = as_(client, world, "c1_leader")
    assert {d["member_name"] for d in leader.get("/devices").get_json()["items"]} == {"吴巡查"}
    assert_error(leader.get(f"/devices/{device['id']}"), 403, "out_of_scope")
    assert_error(leader.post("/devices", {"member_id": world.ids["patroller"]}), 403)
    assert_error(admin.get("/devices/not-a-device"), 404)
    assert audit_actions(app)[-2:] == ["device.register", "device.revoke"]


def test_volunteer_token_does_not_browse_the_roster(client, world):
    admin = as_(client, world, "admin")
    volunteer = admin.post("/members", {"name": "红袖标", "phone": "17000000044",
                                        "assignments": [{"role": "volunteer", "area_code": "HD03-1-1"}]}).get_json()
    token = admin.post("/auth/tokens", {"member_id": volunteer["id"]}).get_json()["token"]
    as_volunteer = As(client, token)
    assert as_volunteer.get("/members").get_json()["total"] == 0
    assert as_volunteer.get("/areas").get_json()["total"] == 0
    assert_error(as_volunteer.get(f"/members/{world.ids['patroller']}"), 403, "out_of_scope")
    assert_error(as_volunteer.get(f"/areas/{world.ids['g11']}/leaders"), 403, "role_not_permitted")
    assert as_volunteer.get("/auth/me").get_json()["roles"] == ["volunteer"]


def test_changing_your_own_password_needs_the_current_one(client, world):
    admin = as_(client, world, "admin")
    me = as_(client, world, "c1_leader")
    path = f"/members/{world.ids['c1_leader']}/password"
    assert me.put(path, {"password": "first password"}).status_code == 204  # none set yet
    body = assert_error(me.put(path, {"password": "second password"}), 422)
    assert "current_password" in body["details"]
    assert_error(me.put(path, {"password": "second password", "current_password": "wrong one"}), 422)
    assert me.put(path, {"password": "second password", "current_password": "first password"}).status_code == 204
    assert admin.put(path, {"password": "reset by admin"}).status_code == 204
    assert As(client, None).post("/auth/login",
                                 {"phone": "17000000003", "password": "reset by admin"}).status_code == 201


def test_repeated_failed_logins_lock_the_phone_for_a_while(app, client, world):
    import time_machine
    from datetime import datetime, timedelta, timezone
    admin = as_(client, world, "admin")
    admin.put(f"/members/{world.ids['c2_leader']}/password", {"password": "right password"})
    anonymous = As(client, None)
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            assert_error(anonymous.post("/auth/login", {"phone": "17000000004", "password": "guess"}), 401)
        body = assert_error(anonymous.post("/auth/login", {"phone": "17000000004", "password": "right password"}),
                            429, "rate_limited")
        assert body["details"]["retry_after_seconds"] == 900
        # other phones are not affected
        assert anonymous.post("/auth/login", {"phone": "17000000099", "password": "x"}).status_code == 401
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert anonymous.post("/auth/login", {"phone": "17000000004", "password": "right password"}).status_code == 201
    failed = admin.get("/audit", {"action": "auth.login_failed"}).get_json()
    assert failed["total"] == 6 and failed["items"][-1]["actor_label"] == "+86170****0004"


def test_removed_member_comes_back_with_the_same_id(app, client, world):
    admin = as_(client, world, "admin")
    pid = world.ids["patroller2"]
    assert admin.delete(f"/members/{pid}").status_code == 204
    assert_error(admin.get(f"/members/{pid}"), 404)
    back = admin.post("/members", {"name": "郑巡查(返岗)", "phone": "17000000008",
                                   "assignments": [{"role": "patroller", "area_code": "HD03-1-2"}]})
    assert back.status_code == 201
    assert back.get_json()["id"] == pid and back.get_json()["active"] is True
    assert back.get_json()["assignments"][0]["area_code"] == "HD03-1-2"
    assert audit_actions(app)[-1] == "member.reactivate"
    # the old device stays revoked
    assert admin.get("/devices", {"member_id": pid}).get_json()["items"][0]["active"] is False
