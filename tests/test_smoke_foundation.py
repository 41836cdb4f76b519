"""The app starts on both backends and answers in the one error shape."""
import pytest

pytestmark = pytest.mark.both_databases  # the app starts and answers on both backends


def test_health_reports_database(client):
    body = client.get("/healthz").get_json()
    assert body["database"]["ok"] is True
    assert body["status"] == "ok"


def test_unknown_path_uses_error_shape(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert set(response.get_json()) == {"error", "message", "details"}


def test_world_builds_and_tokens_resolve(world, db):
    from core.domain.tokens import find_device, find_staff_token
    assert find_staff_token(db.session, world.tokens["admin"]).member.name == "管理员"
    assert find_device(db.session, world.device_token).member.name == "吴巡查"
    assert find_device(db.session, "gpd_nope") is None
