"""Bad input of every class answers a precise 4xx in the one error shape — never a 500, never a partial write."""
import json
from types import SimpleNamespace

import pytest

from tests.support.api_helpers import as_, assert_error
from tests.support.databases import data_set
from tests.conftest import bearer, plain_world

# Both databases: huge numbers and odd values fail differently in each database (DataError vs OverflowError).
pytestmark = pytest.mark.both_databases

BIG = 10 ** 30

# (method, path, body, expected status, expected code or None); {g11} etc. are world ids.
CASES = [
    ("post", "/areas", "{bad json", 400, "invalid_json"),
    ("post", "/members", '{"name": "x",', 400, "invalid_json"),
    ("post", "/incidents/{ticket}/escalate", "{'single': 'quotes'}", 400, "invalid_json"),
    ("post", "/areas", [], 422, "validation_failed"),
    ("post", "/areas", '"just a string"', 422, "validation_failed"),
    ("post", "/areas", "just a string", 400, "invalid_json"),
    ("get", "/devices?member_id=" + str(BIG), None, 422, "validation_failed"),
    ("delete", "/auth/tokens/" + str(BIG), None, 404, "not_found"),
    ("get", "/members/" + str(BIG), None, 404, "not_found"),
    ("post", "/areas", {"code": 5, "name": ["x"], "parent": True}, 422, "validation_failed"),
    ("post", "/areas", {"code": "ok-1", "name": "x", "parent": "HD03", "colour": "red"}, 422, "validation_failed"),
    ("post", "/areas", {"code": "has space", "name": "x"}, 422, "validation_failed"),
    ("post", "/areas", {"code": "X9", "name": "x", "parent": "HD03", "timezone": "Mars/Olympus"}, 422,
     "validation_failed"),
    ("post", "/areas", {"code": "X9", "name": "x", "parent": BIG}, 422, None),
    ("patch", "/areas/{g11}", {"kind": "planet"}, 422, "validation_failed"),
    ("patch", "/areas/999999", {"name": "x"}, 404, "not_found"),
    ("get", "/areas/" + str(BIG), None, 404, "not_found"),
    ("post", "/members", {"name": "x", "phone": "+86170000000", "assignments": "patroller"}, 422, "validation_failed"),
    ("post", "/members", {"name": "x", "phone": "17000000055", "assignments": [{"role": "king", "area_id": 1}]},
     422, None),
    ("post", "/members", {"name": "x", "phone": "17000000055",
                          "assignments": [{"role": "patroller", "area_id": BIG}]}, 422, None),
    ("post", "/members", {"name": "\x00nul", "phone": "17000000056"}, 422, None),
    ("post", "/members", {"name": "x", "phone": "17000000002"}, 409, "duplicate_phone"),
    ("patch", "/members/{patroller}", {"active": "maybe"}, 422, "validation_failed"),
    ("put", "/members/{patroller}/password", {"password": 12345678}, 422, "validation_failed"),
    ("post", "/devices", {"member_id": "7"}, 422, "validation_failed"),
    ("post", "/devices", {"member_id": 99999}, 404, "not_found"),
    ("post", "/devices", {"member_id": BIG}, 422, "validation_failed"),
    ("post", "/devices", {"member_id": 2 ** 40}, 422, "validation_failed"),
    ("get", "/members/" + str(2 ** 40), None, 404, "not_found"),
    ("get", "/patrols?member_id=" + str(2 ** 40), None, 422, "validation_failed"),
    ("post", "/members", {"name": "x", "phone": "17000000057",
                          "assignments": [{"role": "patroller", "area_id": 2 ** 40}]}, 422, None),
    ("post", "/auth/tokens", {"member_id": 1, "expires_in_days": 0}, 422, "validation_failed"),
    ("post", "/schedules", {"area": "HD03", "windows": [{"start": 800, "end": "12:00"}]}, 422, "validation_failed"),
    ("post", "/schedules", {"area": "HD03", "heightened": [{"name": "x", "dates": ["02-05"]}]}, 422, None),
    ("post", "/schedules", {"area": {"code": "HD03"}}, 422, "validation_failed"),
    ("post", "/categories", {"code": "dust", "number": 99, "name_zh": "x", "name_en": "x"}, 409, None),
    ("post", "/categories", {"code": "x", "number": 1.5, "name_zh": "x", "name_en": "x"}, 422, "validation_failed"),
    ("post", "/sites", {"area": "HD03-1-1", "address": "x", "latitude": "NaN"}, 422, "validation_failed"),
    ("post", "/sites", {"area": "HD03-1-1", "address": "x", "latitude": 91}, 422, "validation_failed"),
    ("post", "/patrols", {"area": "HD03-1-1", "started_at": "yesterday"}, 422, "validation_failed"),
    ("post", "/patrols", {"area": "HD03-1-1", "started_at": "2026-11-20T08:00:00Z", "checkpoints": [{"nom": "x"}]},
     422, None),
    ("post", "/incidents", {"category": 77, "area": "HD03-1-1"}, 422, "validation_failed"),
    ("post", "/incidents", {"category": 5, "area": "NOWHERE"}, 422, "validation_failed"),
    ("post", "/incidents", {"category": 5, "area": "HD03-1-1", "handling_class": "later"}, 422, "validation_failed"),
    ("post", "/incidents", {"category": 5, "area": "HD03-1-1", "reporter_phone": "call me"}, 422, "validation_failed"),
    ("post", "/incidents/{ticket}/escalate", {"flag": "yes please"}, 422, "validation_failed"),
    ("post", "/incidents/{ticket}/close", {}, 409, "illegal_transition"),
    ("post", "/incidents/{ticket}/note", {"text": "wrong field"}, 422, "validation_failed"),
    ("post", "/incidents/000000/note", {"note": "x"}, 404, "not_found"),
    ("post", "/incidents/{ticket}/reject", {"duplicate_of": "424242"}, 404, "not_found"),
    ("get", "/incidents?page=0", None, 422, "validation_failed"),
    ("get", "/incidents?per_page=100000", None, 422, "validation_failed"),
    ("get", "/incidents?overdue=perhaps", None, 422, "validation_failed"),
    ("get", "/incidents?colour=red", None, 422, "validation_failed"),
    ("get", "/incidents?since=2026-13-45", None, 422, "validation_failed"),
    ("get", "/members?phone=notaphone", None, 422, "validation_failed"),
    ("get", "/audit?actor_member_id=abc", None, 422, "validation_failed"),
    ("delete", "/sites/does-not-exist", None, 404, "not_found"),
    ("put", "/areas", {"code": "x"}, 405, "method_not_allowed"),
]


def _fill(path: str, world, ticket: str) -> str:
    return path.format(ticket=ticket, **{k: v for k, v in world.ids.items()})


@pytest.fixture
def shared(app, client):
    """The world and one reported incident, built once per database per process and written back for each
    case (a module-wide world would not survive this module's other tests, which empty the database)."""
    def build() -> dict:
        world = plain_world(app)
        created = as_(client, SimpleNamespace(**world), "admin").post("/incidents", {"category": 5, "area": "HD03-1-1"})
        return {"world": world, "ticket": created.get_json()["ticket"]}
    built = data_set(app, "bad-input", build)
    return app, client, SimpleNamespace(**built["world"]), built["ticket"]


@pytest.mark.parametrize("method,path,body,status,code", CASES, ids=[f"{c[0]} {c[1]} {i}" for i, c in enumerate(CASES)])
def test_bad_input_is_a_precise_4xx(shared, method, path, body, status, code):
    from core.db import db
    from core.models import AuditLog
    app, client, world, ticket = shared
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count()).select_from(AuditLog))
    kwargs = {"headers": {**bearer(world.tokens["admin"]), "Content-Type": "application/json"}}
    if body is not None:
        kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
    response = getattr(client, method)("/api/v1" + _fill(path, world, ticket), **kwargs)
    result = assert_error(response, status, code)
    assert result["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == before  # nothing written


def test_unknown_field_details_name_the_field(client, world):
    body = assert_error(as_(client, world, "admin").post("/areas", {"code": "Z1", "name": "z", "colour": "red"}), 422)
    assert body["details"] == {"colour": ["Unknown field."]}


def test_oversize_body_is_413(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = client.post("/api/v1/incidents", data=json.dumps({"category": 5, "area": "HD03-1-1",
                                                                  "description": "烟" * 3000}),
                           headers={**bearer(world.tokens["admin"]), "Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_wrong_content_type_is_not_a_500(client, world):
    response = client.post("/api/v1/areas", data="code=X&name=y",
                           headers={**bearer(world.tokens["admin"]),
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 422, "validation_failed")


def test_invalid_utf8_is_400(client, world):
    response = client.post("/api/v1/areas", data=b'{"code": "\xff\xfe"}',
                           headers={**bearer(world.tokens["admin"]), "Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")
