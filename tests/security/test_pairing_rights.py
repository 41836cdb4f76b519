"""Threat: a low-ranked leader taking over a higher account through a credential. Pairing a phone, setting a
password and issuing a staff token all need authority over EVERY assignment the member holds (one rule,
core.domain.scoping.authority_over_member): the global admin who also patrols a grid is not that grid
leader's to pair."""
from __future__ import annotations

import pytest

from tests.security.helpers import OtherProcess, area_admin, csrf_of, new_member, post_json, signed_in_client
from tests.support.api_helpers import as_, assert_error


def _admin_also_patrols(app, world, area_key: str = "g11") -> None:
    from core.db import db
    from core.models import Assignment, Member
    with app.app_context():
        admin = db.session.get(Member, world.ids["admin"])
        admin.assignments.append(Assignment(role="patroller", area_id=world.ids[area_key]))
        db.session.commit()


@pytest.mark.parametrize("leader_phone", ["+8617000000005", "+8617000000003"])  # grid leader, community leader
def test_a_leader_cannot_pair_a_phone_for_the_global_admin_who_patrols_her_area(app, world, leader_phone):
    _admin_also_patrols(app, world)
    client = signed_in_client(app, leader_phone)
    answer = client.post(f"/dashboard/people/members/{world.ids['admin']}/pair",
                         data={"csrf_token": csrf_of(client, "/dashboard/people")})
    assert answer.status_code == 302  # back to the list with the refusal, no code shown
    from core.db import db
    from core.models.pairing import PairingCode
    with app.app_context():
        assert db.session.query(PairingCode).count() == 0
    # her own patroller (every assignment inside her area) she may pair
    mine = client.post(f"/dashboard/people/members/{world.ids['patroller']}/pair",
                       data={"csrf_token": csrf_of(client, "/dashboard/people")})
    assert mine.status_code == 200 and "/app/pair?code=" in mine.get_data(as_text=True)


def test_the_pair_button_is_offered_only_where_the_rule_allows(app, world):
    from core.domain.access import Principal
    from core.domain.pairing import issue_pairing_code, may_pair
    from core.domain.errors import Forbidden
    from core.db import db
    from core.models import Member
    _admin_also_patrols(app, world)
    with app.app_context():
        grid_leader = Principal.for_member(db.session.get(Member, world.ids["g11_leader"]))
        admin = db.session.get(Member, world.ids["admin"])
        assert not may_pair(grid_leader, admin)
        assert may_pair(grid_leader, db.session.get(Member, world.ids["patroller"]))
        with pytest.raises(Forbidden):
            issue_pairing_code(db.session, admin, actor=grid_leader)


def test_every_credential_follows_the_same_rule_for_a_member_in_two_communities(app, client, world):
    """An area admin of HD03-1 may not pair, set the password of, or issue a token for a member who also
    holds a role in HD03-2; the global admin may do all three."""
    both = new_member(client, world, "两地人", "+8617000000070", [{"role": "patroller", "area_code": "HD03-1-1"},
                                                                  {"role": "patroller", "area_code": "HD03-2-1"}])
    _, scoped = area_admin(client, world, "HD03-1")
    assert_error(scoped.put(f"/members/{both['id']}/password", {"password": "long-enough-1"}), 403)
    assert_error(scoped.post("/auth/tokens", {"member_id": both["id"]}), 403)
    assert_error(scoped.post("/devices", {"member_id": both["id"], "name": "x"}), 403)
    from core.domain.access import Principal
    from core.domain.pairing import may_pair
    from core.db import db
    from core.models import Member
    with app.app_context():
        area_admin_member = db.session.scalar(db.select(Member).where(Member.phone == "+8617000000090"))
        assert not may_pair(Principal.for_member(area_admin_member), db.session.get(Member, both["id"]))
    admin = as_(client, world, "admin")
    assert admin.put(f"/members/{both['id']}/password", {"password": "long-enough-1"}).status_code == 204
    assert admin.post("/auth/tokens", {"member_id": both["id"]}).status_code == 201


# --- pairing codes: the wrong-code limit, proxies, deactivated members ------------------------------------

def _code_for(app, member_id: int) -> str:
    from core.domain.pairing import issue_pairing_code
    from core.db import db
    from core.models import Member
    with app.app_context():
        code = issue_pairing_code(db.session, db.session.get(Member, member_id)).code
        db.session.commit()
        return code


def test_the_wrong_code_limit_holds_across_processes(app, world, tmp_path):
    """With 4 gunicorn workers, 300 wrong codes got 80 answers before 429: each process counted its own."""
    client = app.test_client()
    for n in range(20):  # the documented limit per address per 10 minutes
        assert client.post("/app/api/pair", json={"code": f"WRONG{n:03d}"}).status_code == 404
    code = _code_for(app, world.ids["patroller"])
    with OtherProcess(app, tmp_path) as other:
        status, body = post_json(other + "/app/api/pair", {"code": "WRONGXYZ"})
        assert status == 429 and body["error"] == "too_many_attempts"
        assert post_json(other + "/app/api/pair", {"code": code})[0] == 429  # the right code waits too


@pytest.fixture
def proxied(db_url, tmp_path):
    """The service behind one reverse proxy (GRIDPATROL_TRUSTED_PROXIES=1), with the usual world."""
    from core.db import db
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    application = make_app(db_url, tmp_path, TRUSTED_PROXIES=1)
    with application.app_context():
        reset_database(db)
        world = build_world(db.session)
        db.session.commit()
    yield application, world
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_proxy_one_guesser_does_not_lock_everyone_out(proxied):
    app, world = proxied
    client = app.test_client()
    guesser = {"X-Forwarded-For": "203.0.113.5"}
    for n in range(20):
        assert client.post("/app/api/pair", json={"code": f"WRONG{n:03d}"}, headers=guesser).status_code == 404
    assert client.post("/app/api/pair", json={"code": "WRONG999"}, headers=guesser).status_code == 429
    # a forged hop in front of the proxy's own does not make the guesser someone else
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
    assert client.post("/app/api/pair", json={"code": "WRONG998"}, headers=forged).status_code == 429
    patroller = client.post("/app/api/pair", json={"code": _code_for(app, world.ids["patroller"])},
                            headers={"X-Forwarded-For": "203.0.113.6"})
    assert patroller.status_code == 201  # another phone behind the same proxy pairs


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(app, world):
    client = app.test_client()
    for n in range(20):
        forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}  # a guesser inventing a new address each time
        assert client.post("/app/api/pair", json={"code": f"WRONG{n:03d}"}, headers=forwarded).status_code == 404
    assert client.post("/app/api/pair", json={"code": "WRONG999"},
                       headers={"X-Forwarded-For": "203.0.113.99"}).status_code == 429


def test_a_code_issued_before_deactivation_is_void_after_reactivation(app, client, world):
    code = _code_for(app, world.ids["patroller"])
    admin = as_(client, world, "admin")
    assert admin.patch(f"/members/{world.ids['patroller']}", {"active": False}).status_code == 200
    assert admin.patch(f"/members/{world.ids['patroller']}", {"active": True}).status_code == 200
    assert_error(client.post("/app/api/pair", json={"code": code}), 404, "pairing_code_invalid")


def test_a_deactivated_members_code_answers_like_a_wrong_code(app, client, world):
    code = _code_for(app, world.ids["patroller"])
    from core.db import db
    from core.models import Member
    with app.app_context():  # deactivated without the API (a direct flip): the answer still names nobody
        db.session.get(Member, world.ids["patroller"]).active = False
        db.session.commit()
    answer = client.post("/app/api/pair", json={"code": code})
    body = assert_error(answer, 404, "pairing_code_invalid")
    assert "吴巡查" not in answer.get_data(as_text=True) and body == assert_error(
        client.post("/app/api/pair", json={"code": "ABCD-EFGH"}), 404)


def test_the_dashboards_roster_import_judges_existing_members_like_the_api(app, client, world):
    """The dashboard's dry run did not ask whether the importer may manage a phone's existing member: an area
    admin could add a role to someone from another sub-district. Now the domain asks, for every surface."""
    import io

    from tests.support.roster_helpers import csv_bytes
    admin = as_(client, world, "admin")
    for body in ({"code": "HD04", "name": "江口街道", "kind": "subdistrict", "parent": "HD"},
                 {"code": "HD04-1", "name": "江口社区", "kind": "community", "parent": "HD04"}):
        assert admin.post("/areas", body).status_code == 201
    new_member(client, world, "外街道人", "+8617000000071", [{"role": "patroller", "area_code": "HD04-1"}])
    area_admin(client, world, "HD03")
    web = signed_in_client(app, "+8617000000090")
    sheet = csv_bytes([["映月社区", "映月一网格", "外街道人", "+8617000000071", "网格员"]])
    form = {"parent": "HD03", "csrf_token": csrf_of(web, "/dashboard/people"),
            "file": (io.BytesIO(sheet), "roster.csv")}
    page = web.post("/dashboard/people/roster", data=form, content_type="multipart/form-data")
    assert page.status_code == 200 and "belongs to a member outside your areas" in page.get_data(as_text=True)
