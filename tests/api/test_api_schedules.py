"""Schedules (nested validation, inheritance) and categories through the API."""
from datetime import date

from tests.support.api_helpers import as_, assert_error, audit_actions

WINTER = {
    "area": "HD03", "name": "秋冬季攻坚",
    "windows": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"},
                {"start": "22:00", "end": "02:00"}],
    "active_from": "2026-11-25", "active_to": "2027-02-28",
    "heightened": [{"name": "除夕", "lunar": "chuxi", "windows": [{"start": "19:00", "end": "01:00"}]},
                   {"name": "元宵", "dates": ["2027-02-20"], "windows": [{"start": "18:00", "end": "23:00"}]}],
    "key_sites": [{"name": "殡葬点", "location": "映月路口"}],
}


def test_create_and_inherit_schedule(app, client, world):
    admin = as_(client, world, "admin")
    created = admin.post("/schedules", WINTER)
    assert created.status_code == 201, created.get_json()
    schedule = created.get_json()
    assert schedule["area_code"] == "HD03" and schedule["heightened"][1]["dates"] == ["2027-02-20"]
    assert schedule["key_sites"][0]["fixed_post"] is True

    grid = admin.get(f"/areas/{world.ids['g11']}/schedule").get_json()
    assert grid["inherited"] is True and grid["source_area_code"] == "HD03" and grid["schedule"]["id"] == schedule["id"]
    # 除夕 of lunar year 2027 falls on 2027-02-05: its night window is added to the daily ones.
    on_eve = admin.get("/schedules/effective", {"area": "HD03-1-1", "on": "2027-02-05"}).get_json()
    assert {"start": "19:00", "end": "01:00"} in on_eve["windows_on"] and len(on_eve["windows_on"]) == 4
    assert admin.get("/schedules/effective", {"area": "HD03-1-1", "on": "2027-06-01"}).get_json()["schedule"] is None

    own = admin.post("/schedules", {"area": "HD03-1-1", "windows": [{"start": "09:00", "end": "11:00"}]}).get_json()
    grid = admin.get("/schedules/effective", {"area": "HD03-1-1"}).get_json()
    assert grid["inherited"] is False and grid["schedule"]["id"] == own["id"]
    assert admin.get("/schedules", {"within": "HD03-1"}).get_json()["total"] == 1
    assert admin.get("/schedules").get_json()["total"] == 2

    patched = admin.patch(f"/schedules/{own['id']}", {"active_from": "2026-11-25", "active_to": "2026-02-28"})
    assert patched.status_code == 200  # wraps the new year: a recurring season by month-day
    wrapped = admin.get("/schedules/effective", {"area": "HD03-1-1", "on": "2030-01-10"}).get_json()
    assert wrapped["schedule"]["id"] == own["id"]
    assert admin.delete(f"/schedules/{own['id']}").status_code == 204
    assert_error(admin.get(f"/schedules/{own['id']}"), 404)
    assert audit_actions(app)[-4:] == ["schedule.create", "schedule.create", "schedule.update", "schedule.delete"]


def test_nested_validation_names_each_bad_field(client, world):
    body = assert_error(as_(client, world, "admin").post("/schedules", {
        "area": "HD03", "windows": [{"start": "8:00", "end": "12:00"}, {"start": "10:00", "end": "10:00"},
                                    {"start": "25:00", "end": "12:00", "extra": 1}],
        "heightened": [{"name": "x", "lunar": "qingming"}, {"name": "y"}],
        "key_sites": [{"location": "no name"}], "active_from": "2026-13-01"}), 422, "validation_failed")
    details = body["details"]
    assert set(details["windows"]) == {"0", "1", "2"}
    assert "start" in details["windows"]["0"] and "end" in details["windows"]["1"]
    assert "extra" in details["windows"]["2"]
    assert "lunar" in details["heightened"]["0"] and "dates" in details["heightened"]["1"]
    assert "name" in details["key_sites"]["0"] and "active_from" in details


def test_half_open_range_refused(client, world):
    body = assert_error(as_(client, world, "admin").post("/schedules", {"area": "HD03", "active_from": "2026-11-25"}),
                        422)
    assert "active_to" in body["details"]


def test_schedule_scope(client, world):
    admin = as_(client, world, "admin")
    admin.post("/schedules", {"area": "HD03-2"})
    leader = as_(client, world, "c1_leader")
    assert leader.get("/schedules").get_json()["total"] == 0
    assert_error(leader.get("/schedules/effective", {"area": "HD03-2-1"}), 403, "out_of_scope")
    assert leader.post("/schedules", {"area": "HD03-1"}).status_code == 201
    assert_error(as_(client, world, "patroller").post("/schedules", {"area": "HD03-1-1"}), 403, "role_not_permitted")


def test_schedule_domain_rules():
    from types import SimpleNamespace
    from core.domain.patrol_calendar import is_active_on, lunar_date, window_minutes
    season = SimpleNamespace(active_from=date(2026, 11, 25), active_to=date(2026, 2, 28))
    assert is_active_on(season, date(2031, 12, 31)) and is_active_on(season, date(2031, 2, 28))
    assert not is_active_on(season, date(2031, 3, 1))
    assert window_minutes({"start": "22:00", "end": "02:00"}) == 240
    assert lunar_date("spring_festival", 2027) == date(2027, 2, 6)
    assert lunar_date("chuxi", 2027) == date(2027, 2, 5)


def test_categories_crud_and_retire(app, client, world):
    admin = as_(client, world, "admin")
    listed = admin.get("/categories").get_json()
    assert listed["total"] == 10 and listed["items"][4]["code"] == "coal"
    assert [c["number"] for c in admin.get("/categories", {"urgent": True}).get_json()["items"]] == [6]
    created = admin.post("/categories", {"code": "bbq", "number": 11, "name_zh": "露天烧烤", "name_en": "open-air bbq",
                                         "keywords": ["烧烤", " 烧烤 ", "撸串"]})
    assert created.status_code == 201 and created.get_json()["keywords"] == ["烧烤", "撸串"]
    cid = created.get_json()["id"]
    body = assert_error(admin.post("/categories", {"code": "bbq2", "number": 11, "name_zh": "x", "name_en": "x"}), 409)
    assert "number" in body["details"]
    assert admin.patch(f"/categories/{cid}", {"urgent": True}).get_json()["urgent"] is True
    assert admin.delete(f"/categories/{cid}").get_json()["outcome"] == "deleted"
    assert_error(admin.get(f"/categories/{cid}"), 404)
    # A used category is deactivated, not deleted.
    coal = admin.get("/categories", {"code": "coal"}).get_json()["items"][0]
    assert admin.post("/incidents", {"category": 5, "area": "HD03-1-1"}).status_code == 201
    assert admin.delete(f"/categories/{coal['id']}").get_json()["outcome"] == "deactivated"
    assert admin.get(f"/categories/{coal['id']}").get_json()["active"] is False
    assert_error(admin.post("/incidents", {"category": "coal", "area": "HD03-1-1"}), 422)
    assert_error(as_(client, world, "c1_leader").post("/categories", {"code": "z", "number": 12, "name_zh": "z",
                                                                      "name_en": "z"}), 403)
    assert "category.deactivate" in audit_actions(app)
