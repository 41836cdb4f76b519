"""The ledger (sites + inspections) and patrols through the API."""
from tests.support.api_helpers import as_, assert_error, audit_actions


def _site(api, area="HD03-1-1", **extra):
    response = api.post("/sites", {"area": area, "address": "映月路12号", "name": "张家", "stove_count": 2, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_site_crud_filters_and_inspections(app, client, world):
    leader = as_(client, world, "c1_leader")
    site = _site(leader)
    assert site["status"] == "identified" and site["area_code"] == "HD03-1-1" and site["inspections"] == []
    _site(leader, area="HD03-1-2", kind="restaurant", address="白马路1号")
    admin = as_(client, world, "admin")
    _site(admin, area="HD03-2-1", address="白马路2号")

    patroller = as_(client, world, "patroller")
    inspected = patroller.post(f"/sites/{site['id']}/inspections", {"status_after": "rectified_gas", "note": "已改气"})
    assert inspected.status_code == 201
    assert inspected.get_json()["status"] == "rectified_gas" and inspected.get_json()["last_inspected_at"]
    # An inspection dated before the last one is history, not the current status.
    patroller.post(f"/sites/{site['id']}/inspections", {"status_after": "identified", "at": "2020-01-01T08:00:00"})
    history = patroller.get(f"/sites/{site['id']}/inspections").get_json()
    assert [h["status_after"] for h in history] == ["identified", "rectified_gas"]
    assert patroller.get(f"/sites/{site['id']}").get_json()["status"] == "rectified_gas"

    assert leader.get("/sites").get_json()["total"] == 2
    assert admin.get("/sites").get_json()["total"] == 3
    assert admin.get("/sites", {"within": "HD03-1", "kind": "restaurant"}).get_json()["total"] == 1
    assert admin.get("/sites", {"status": "rectified_gas"}).get_json()["items"][0]["id"] == site["id"]
    assert admin.get("/sites", {"q": "白马"}).get_json()["total"] == 2

    assert leader.patch(f"/sites/{site['id']}", {"stove_count": 0, "notes": "拆除"}).get_json()["stove_count"] == 0
    assert_error(leader.patch(f"/sites/{site['id']}", {"area": "HD03-2-1"}), 403, "out_of_scope")
    assert_error(patroller.patch(f"/sites/{site['id']}", {"notes": "x"}), 403, "role_not_permitted")
    assert leader.delete(f"/sites/{site['id']}").status_code == 204
    assert_error(leader.get(f"/sites/{site['id']}"), 404)
    assert audit_actions(app).count("site.inspect") == 2


def test_site_scope_and_validation(client, world):
    admin = as_(client, world, "admin")
    other = _site(admin, area="HD03-2-1")
    leader = as_(client, world, "c1_leader")
    assert_error(leader.get(f"/sites/{other['id']}"), 403, "out_of_scope")
    assert_error(leader.post(f"/sites/{other['id']}/inspections", {"status_after": "cleared"}), 403)
    body = assert_error(admin.post("/sites", {"area": "HD03-1-1", "address": "", "kind": "volcano",
                                              "stove_count": -1}), 422)
    assert {"address", "kind", "stove_count"} <= set(body["details"])
    assert_error(admin.post(f"/sites/{other['id']}/inspections", {"status_after": "gone"}), 422)


def test_patrols_create_list_filter_detail(app, client, world):
    patroller = as_(client, world, "patroller")
    mine = patroller.post("/patrols", {"area": "HD03-1-1", "started_at": "2026-11-20T00:30:00Z",
                                       "ended_at": "2026-11-20T02:00:00+00:00",
                                       "checkpoints": [{"name": "映月路口", "at": "2026-11-20T01:00:00Z"}]})
    assert mine.status_code == 201, mine.get_json()
    assert mine.get_json()["member_name"] == "吴巡查" and mine.get_json()["source"] == "staff"
    leader = as_(client, world, "c1_leader")
    other = leader.post("/patrols", {"area": "HD03-1-1", "member_id": world.ids["patroller"],
                                     "started_at": "2026-11-21T06:00:00Z", "outcome": "problems_found",
                                     "problem_count": 2})
    assert other.status_code == 201
    admin = as_(client, world, "admin")
    admin.post("/patrols", {"area": "HD03-2-1", "member_id": world.ids["patroller2"],
                            "started_at": "2026-11-21T07:00:00Z"})

    assert [p["id"] for p in leader.get("/patrols").get_json()["items"]] == [other.get_json()["id"],
                                                                           mine.get_json()["id"]]
    assert admin.get("/patrols").get_json()["total"] == 3
    assert admin.get("/patrols", {"outcome": "problems_found"}).get_json()["total"] == 1
    assert admin.get("/patrols", {"member_id": world.ids["patroller2"]}).get_json()["total"] == 1
    assert admin.get("/patrols", {"since": "2026-11-21T00:00:00Z",
                                  "until": "2026-11-21T06:30:00Z"}).get_json()["total"] == 1
    assert admin.get("/patrols", {"within": "HD03-2"}).get_json()["total"] == 1
    assert leader.get(f"/patrols/{mine.get_json()['id']}").get_json()["checkpoints"][0]["name"] == "映月路口"
    assert audit_actions(app).count("patrol.create") == 3


def test_patrol_rules(client, world):
    patroller = as_(client, world, "patroller")
    body = assert_error(patroller.post("/patrols", {"area": "HD03-1-1", "started_at": "2026-11-20T02:00:00Z",
                                                    "ended_at": "2026-11-20T01:00:00Z"}), 422)
    assert "ended_at" in body["details"]
    assert_error(patroller.post("/patrols", {"area": "HD03-2-1", "started_at": "2026-11-20T02:00:00Z"}), 403,
                 "out_of_scope")
    assert_error(patroller.post("/patrols", {"area": "HD03-1-1", "member_id": world.ids["g11_leader"],
                                             "started_at": "2026-11-20T02:00:00Z"}), 403, "role_not_permitted")
    assert_error(as_(client, world, "c1_leader").post("/patrols", {
        "area": "HD03-1-1", "member_id": world.ids["patroller2"], "started_at": "2026-11-20T02:00:00Z"}), 403)
    assert_error(patroller.get("/patrols/nope"), 404)
