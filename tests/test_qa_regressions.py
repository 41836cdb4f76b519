"""Regressions found by QA (schemathesis against the served demo and in-process, issue 2): each was a 500
or a body outside its documented schema. Every test runs on both backends through the Flask test client."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Area
from tests.api_helpers import as_, assert_error
from tests.sms_fixtures import *  # noqa: F401,F403
from tests.sms_fixtures import sms_world
from tests.sms_helpers import inbound_params, signed_post

# str.isdigit() is true for these, but int() refuses them (superscripts; Kharosthi digits are not decimal).
NOT_INT_DIGITS = ["¹", "²³", "\U00010A40", "1\u00b2"]


@pytest.mark.parametrize("ref", NOT_INT_DIGITS)
def test_area_filter_with_a_digit_int_refuses_is_422_not_500(client, world, ref):
    admin = as_(client, world, "admin")
    for path in ("/members", "/incidents", "/sites", "/areas", "/patrols", "/schedules"):
        response = admin.get(path, {"within": ref})
        assert response.status_code == 422, (path, response.status_code, response.get_json())
        assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize("ref", NOT_INT_DIGITS)
def test_area_and_category_refs_in_bodies_with_odd_digits_are_422_and_write_nothing(app, client, world, ref):
    admin = as_(client, world, "admin")
    with app.app_context():
        areas_before = db.session.scalar(select(func.count()).select_from(Area))
    body = assert_error(admin.post("/areas", {"code": "HD03-9", "name": "新社区", "kind": "community", "parent": ref}), 422)
    assert "parent" in body["details"]
    body = assert_error(admin.post("/incidents", {"category": ref, "area": "HD03-1-1"}), 422)
    assert "category" in body["details"]
    body = assert_error(admin.post("/incidents", {"category": 5, "area": ref}), 422)
    assert "area" in body["details"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Area)) == areas_before


@pytest.mark.parametrize("number", ["99999999999999999999", "4294967296"])
def test_category_number_beyond_any_column_is_422(client, world, number):
    body = assert_error(as_(client, world, "admin").post("/incidents", {"category": number, "area": "HD03-1-1"}), 422)
    assert "category" in body["details"]


@pytest.mark.parametrize("parent", ["¹", "99999999999999999999"])
def test_roster_import_parent_with_odd_digits_is_422(client, world, parent):
    csv = "community,grid,name,phone,role\nHD03-1,HD03-1-1,张三,17000009901,网格员\n".encode()
    response = client.post(f"/api/v1/roster/import?parent={parent}", data=csv,
                           headers={"Authorization": f"Bearer {world.tokens['admin']}", "Content-Type": "text/csv"})
    body = assert_error(response, 422)
    assert "parent" in body["details"]


def test_patrol_sms_with_a_non_decimal_digit_is_answered_not_500(console_app):
    sms_world(console_app)
    response = signed_post(console_app.test_client(), "/sms/twilio/inbound",
                           inbound_params("+8617000000007", "巡查 HD03-1-1 问题 \U00010A40"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "<Response" in response.get_data(as_text=True)
