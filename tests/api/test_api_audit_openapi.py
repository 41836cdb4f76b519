"""The audit log of API writes, and the OpenAPI document that describes the whole API."""
from tests.support.api_helpers import As, as_, assert_error


def test_each_write_appends_one_audit_entry_with_actor(app, client, world):
    admin = as_(client, world, "admin")
    writes = [
        ("post", "/areas", {"code": "HD03-3", "name": "新社区", "kind": "community", "parent": "HD03"}, "area.create"),
        ("post", "/members", {"name": "新人", "phone": "17000000066"}, "member.create"),
        ("post", "/devices", {"member_id": world.ids["patroller"]}, "device.register"),
        ("post", "/schedules", {"area": "HD03"}, "schedule.create"),
        ("post", "/sites", {"area": "HD03-1-1", "address": "映月路1号"}, "site.create"),
        ("post", "/incidents", {"category": 1, "area": "HD03-1-1"}, "incident.create"),
    ]
    for method, path, body, action in writes:
        before = admin.get("/audit").get_json()["total"]
        response = getattr(admin, method)(path, body)
        assert response.status_code == 201, response.get_json()
        entries = admin.get("/audit").get_json()
        assert entries["total"] == before + 1
        newest = entries["items"][0]
        assert newest["action"] == action and newest["channel"] == "api"
        assert newest["actor_member_id"] == world.ids["admin"] and newest["actor_label"] == "管理员"
    assert [e["action"] for e in admin.get("/audit", {"action": "area."}).get_json()["items"]] == ["area.create"]
    assert admin.get("/audit", {"entity": "incident"}).get_json()["total"] == 1
    assert admin.get("/audit", {"actor_member_id": world.ids["c1_leader"]}).get_json()["total"] == 0


def test_secrets_never_reach_the_audit_log(client, world):
    admin = as_(client, world, "admin")
    admin.put(f"/members/{world.ids['c1_leader']}/password", {"password": "very secret pw"})
    issued = admin.post("/auth/tokens", {"member_id": world.ids["c1_leader"]}).get_json()["token"]
    text = str(admin.get("/audit").get_json())
    assert "very secret pw" not in text and issued not in text and issued[:20] not in text


def test_audit_is_for_admins_only(client, world):
    assert_error(as_(client, world, "sub_leader").get("/audit"), 403, "role_not_permitted")
    assert_error(As(client, world.device_token).get("/audit"), 403, "wrong_token_kind")


def test_openapi_documents_every_endpoint_and_validates(client):
    from openapi_spec_validator import validate
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = spec["paths"]
    for expected in ("/api/v1/auth/login", "/api/v1/auth/tokens/{token_id}", "/api/v1/areas/{area_id}/leaders",
                     "/api/v1/areas/{area_id}/schedule", "/api/v1/members/{member_id}/password",
                     "/api/v1/devices/{device_id}", "/api/v1/schedules/effective", "/api/v1/categories/{category_id}",
                     "/api/v1/sites/{site_id}/inspections", "/api/v1/patrols/{patrol_id}",
                     "/api/v1/incidents/{ref}/escalate", "/api/v1/incidents/{ref}/reassign", "/api/v1/audit"):
        assert expected in paths, expected
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    create = paths["/api/v1/incidents"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/IncidentCreate")
    assert create["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    for path, operations in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert errors, f"{method} {path} documents no error response"
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "message", "details"}
