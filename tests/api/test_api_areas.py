"""Areas through the API: CRUD, filters, pagination, moves, delete guards, leaders, scoping."""
from tests.support.api_helpers import as_, assert_error, audit_actions


def test_admin_lists_whole_tree_in_order_with_pagination(client, world):
    admin = as_(client, world, "admin")
    body = admin.get("/areas").get_json()
    assert [a["code"] for a in body["items"]] == ["HD", "HD03", "HD03-1", "HD03-2", "HD03-1-1", "HD03-1-2", "HD03-2-1"]
    assert body["total"] == 7
    page2 = admin.get("/areas", {"per_page": 3, "page": 2}).get_json()
    assert [a["code"] for a in page2["items"]] == ["HD03-2", "HD03-1-1", "HD03-1-2"]
    assert page2["total"] == 7 and page2["per_page"] == 3


def test_filters_parent_kind_code_within(client, world):
    admin = as_(client, world, "admin")
    assert [a["code"] for a in admin.get("/areas", {"parent": "HD03"}).get_json()["items"]] == ["HD03-1", "HD03-2"]
    assert [a["code"] for a in admin.get("/areas", {"kind": "grid", "within": "HD03-1"}).get_json()["items"]] == [
        "HD03-1-1", "HD03-1-2"]
    one = admin.get("/areas", {"code": "hd03-2-1"}).get_json()["items"]
    assert len(one) == 1 and one[0]["parent_code"] == "HD03-2"
    assert admin.get(f"/areas/{one[0]['id']}").get_json()["effective_timezone"] == "Asia/Shanghai"
    assert_error(admin.get("/areas", {"within": "NOPE"}), 422, "validation_failed")


def test_community_leader_sees_only_her_community(client, world):
    leader = as_(client, world, "c1_leader")
    codes = [a["code"] for a in leader.get("/areas").get_json()["items"]]
    assert codes == ["HD03-1", "HD03-1-1", "HD03-1-2"]
    assert leader.get(f"/areas/{world.ids['g11']}").status_code == 200
    assert_error(leader.get(f"/areas/{world.ids['c2']}"), 403, "out_of_scope")


def test_natural_code_order_within_a_level(client, world):
    admin = as_(client, world, "admin")
    for n in (10, 3):
        admin.post("/areas", {"code": f"HD03-{n}", "name": f"社区{n}", "kind": "community", "parent": "HD03"})
    codes = [a["code"] for a in admin.get("/areas", {"kind": "community"}).get_json()["items"]]
    assert codes == ["HD03-1", "HD03-2", "HD03-3", "HD03-10"]


def test_create_update_move_delete_and_audit(app, client, world):
    admin = as_(client, world, "admin")
    created = admin.post("/areas", {"code": "hd03-1-3", "name": "映月三网格", "kind": "grid", "parent": "HD03-1"})
    assert created.status_code == 201, created.get_json()
    area = created.get_json()
    assert area["code"] == "HD03-1-3" and area["depth"] == 3 and area["parent_id"] == world.ids["c1"]

    renamed = admin.patch(f"/areas/{area['id']}", {"name": "新名字", "timezone": "Asia/Urumqi"}).get_json()
    assert renamed["name"] == "新名字" and renamed["effective_timezone"] == "Asia/Urumqi"

    moved = admin.patch(f"/areas/{world.ids['c1']}", {"parent": None}).get_json()
    assert moved["depth"] == 0 and moved["path"] == f"/{world.ids['c1']}/"
    child = admin.get(f"/areas/{area['id']}").get_json()
    assert child["path"] == f"/{world.ids['c1']}/{area['id']}/" and child["depth"] == 1

    assert admin.delete(f"/areas/{area['id']}").status_code == 204
    assert_error(admin.get(f"/areas/{area['id']}"), 404, "not_found")
    assert audit_actions(app)[-4:] == ["area.create", "area.update", "area.update", "area.delete"]


def test_duplicate_code_is_409_with_field(client, world):
    body = assert_error(as_(client, world, "admin").post("/areas", {"code": "HD03-1", "name": "x", "parent": "HD03"}),
                        409, "duplicate_code")
    assert "code" in body["details"]


def test_move_under_own_subtree_is_refused(client, world):
    body = assert_error(as_(client, world, "admin").patch(f"/areas/{world.ids['c1']}", {"parent": "HD03-1-1"}),
                        422, "validation_failed")
    assert "parent_id" in body["details"]


def test_delete_refused_while_in_use_says_why(client, world):
    admin = as_(client, world, "admin")
    body = assert_error(admin.delete(f"/areas/{world.ids['c1']}"), 409, "area_in_use")
    assert body["details"]["blockers"]["children"] == 2 and body["details"]["blockers"]["members"] == 1
    assert_error(admin.delete(f"/areas/{world.ids['g11']}"), 409, "area_in_use")


def test_only_admins_write_areas(client, world):
    assert_error(as_(client, world, "c1_leader").post("/areas", {"code": "X1", "name": "x", "parent": "HD03-1"}),
                 403, "role_not_permitted")
    assert_error(as_(client, world, "c1_leader").patch(f"/areas/{world.ids['g11']}", {"name": "y"}), 403)


def test_leaders_in_alert_order(client, world):
    leaders = as_(client, world, "c1_leader").get(f"/areas/{world.ids['g11']}/leaders").get_json()
    assert [(leader["name"], leader["rank"]) for leader in leaders] == [("李网格", 1), ("周副组长", 2)]
    assert all(leader["role"] == "grid_leader" for leader in leaders)


def test_kind_change_refused_while_leaders_do_not_fit(client, world):
    admin = as_(client, world, "admin")
    body = assert_error(admin.patch(f"/areas/{world.ids['c1']}", {"kind": "grid"}), 409, "area_in_use")
    assert "kind" in body["details"]
    assert admin.patch(f"/areas/{world.ids['g12']}", {"kind": "other"}).get_json()["kind"] == "other"


def test_a_refused_edit_leaves_no_partial_move(client, world):
    admin = as_(client, world, "admin")
    before = admin.get(f"/areas/{world.ids['g21']}").get_json()
    # the move is applied first, then the duplicate code is refused: the whole request must roll back
    assert_error(admin.patch(f"/areas/{world.ids['g21']}", {"parent": "HD03-1", "code": "HD03-1-1"}), 409,
                 "duplicate_code")
    after = admin.get(f"/areas/{world.ids['g21']}").get_json()
    assert (after["parent_code"], after["path"], after["code"]) == (before["parent_code"], before["path"],
                                                                    before["code"])
    assert admin.get("/audit", {"entity": "area"}).get_json()["total"] == 0
