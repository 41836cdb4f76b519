"""Pairing a phone and the 待分类 list from the dashboard without a browser (both backends): who may, CSRF,
and refusals that change nothing."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.factories import build_world  # noqa: F401  (the world fixture's builder)

PASSWORD = "correct-horse"


def _token(client, path="/dashboard/password") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def signed_in(app, member_id: int):
    from server.domain.members import set_password
    from server.extensions import db
    from server.models import Member
    with app.app_context():
        member = db.session.get(Member, member_id)
        set_password(member, PASSWORD)
        db.session.commit()
        phone = member.phone
    client = app.test_client()
    answer = client.post("/dashboard/login", data={"phone": phone, "password": PASSWORD,
                                                   "csrf_token": _token(client, "/dashboard/login")})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _codes(app) -> int:
    from server.extensions import db
    from server.models.pairing import PairingCode
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PairingCode))


def test_pairing_needs_the_devices_pair_row_over_the_member_and_csrf(app, world):
    patroller = world.ids["patroller"]  # in HD03-1-1
    outsider = signed_in(app, world.ids["c2_leader"])
    assert outsider.post(f"/dashboard/people/members/{patroller}/pair", data={}).status_code == 403  # no CSRF
    answer = outsider.post(f"/dashboard/people/members/{patroller}/pair", data={"csrf_token": _token(outsider)},
                           follow_redirects=True)
    assert "outside your areas" in answer.get_data(as_text=True)
    assert outsider.post("/dashboard/people/members/99999999/pair",
                         data={"csrf_token": _token(outsider)}).status_code == 404
    assert _codes(app) == 0

    leader = signed_in(app, world.ids["g11_leader"])
    people = leader.get("/dashboard/people?area=HD03-1-1").get_data(as_text=True)
    assert f"/dashboard/people/members/{patroller}/pair" in people
    answer = leader.post(f"/dashboard/people/members/{patroller}/pair", data={"csrf_token": _token(leader)})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    html = answer.get_data(as_text=True)
    assert "<svg" in html and re.search(r'id="pair-code"[^>]*>[A-Z2-9]{4}-[A-Z2-9]{4}<', html)
    assert _codes(app) == 1


def test_pairing_a_deactivated_member_is_refused_with_a_message(app, world):
    from server.extensions import db
    from server.models import Member
    with app.app_context():
        db.session.get(Member, world.ids["patroller"]).active = False
        db.session.commit()
    leader = signed_in(app, world.ids["c1_leader"])
    people = leader.get("/dashboard/people?area=HD03-1-1").get_data(as_text=True)
    assert f"/members/{world.ids['patroller']}/pair" not in people  # no button for a deactivated member
    answer = leader.post(f"/dashboard/people/members/{world.ids['patroller']}/pair",
                         data={"csrf_token": _token(leader)}, follow_redirects=True)
    assert answer.status_code == 200 and "deactivated" in answer.get_data(as_text=True)
    assert _codes(app) == 0
