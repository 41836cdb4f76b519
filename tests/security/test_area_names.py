"""Threat: capturing other communities' resident reports through area names. A text goes to the area whose
name or alias it contains, so an area admin who named a new grid 白马社区 took the real 白马社区's reports
(and read the reporters' phones), and one named 楼下网格 took every text with 楼下. Names and aliases must
not shadow places outside the admin's subtree, must be unique where they route, and generic words are not
place names — one domain rule (core.domain.place_names) for the API, the CLI and the roster import."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from click.testing import CliRunner
from sqlalchemy import select

from server.cli import main
from tests.conftest import bearer
from tests.security.helpers import area_admin
from tests.support.api_helpers import as_, assert_error
from tests.support.roster_helpers import csv_bytes
from sms.providers.twilio.standin import inbound_params, signed_post


def _routed(app, text: str, sender: str = "+8613900005555") -> str:
    """The area code a resident's text is filed under, through the real SMS path."""
    from core.db import db
    from core.models import Incident
    response = signed_post(app.test_client(), "/sms/twilio/inbound", inbound_params(sender, text))
    assert response.status_code == 200 and ET.fromstring(response.data) is not None
    with app.app_context():
        return db.session.scalar(select(Incident).order_by(Incident.reported_at.desc())).area.code


def test_an_area_admin_cannot_name_an_area_after_a_place_outside_her_subtree(console_app):
    from tests.support.sms_fixtures import sms_world
    world = sms_world(console_app)
    client = console_app.test_client()
    _, scoped = area_admin(client, world, "HD03-1")
    for code, name, error in (("HD03-1-91", "白马社区", "place_name_taken"),      # the capture
                              ("HD03-1-92", "白马社区一号院", "place_name_shadows"),  # contains it
                              ("HD03-1-93", "白马", "place_name_taken"),
                              ("HD03-1-94", "楼下网格", "generic_place_name"),     # 楼下 once the suffix is off
                              ("HD03-1-95", "小区", "generic_place_name")):
        answer = scoped.post("/areas", {"code": code, "name": name, "kind": "grid", "parent": "HD03-1"})
        assert_error(answer, 422 if error == "generic_place_name" else 409, error)
    assert_error(scoped.patch(f"/areas/{world.ids['g11']}", {"name": "白马一网格二区"}), 409, "place_name_shadows")
    # her own places she names freely, also after her ancestors' names (映月街道 > 映月社区 > 映月社区第九网格)
    mine = scoped.post("/areas", {"code": "HD03-1-9", "name": "映月社区第九网格", "parent": "HD03-1"})
    assert mine.status_code == 201, mine.get_json()
    assert _routed(console_app, "白马社区有人烧垃圾") == "HD03-2"
    assert _routed(console_app, "楼下有人烧垃圾", "+8613900005556") == "HD03"  # no place named: the intake area


def test_names_are_unique_where_they_route_even_for_a_global_admin(app, client, world):
    admin = as_(client, world, "admin")
    assert_error(admin.post("/areas", {"code": "HD03-1-7", "name": "白马一网格", "parent": "HD03-1"}), 409,
                 "place_name_taken")
    assert_error(admin.post("/areas", {"code": "HD03-1-8", "name": "门口", "parent": "HD03-1"}), 422,
                 "generic_place_name")
    # the global admin may overlap (she reaches everywhere); an area inside another may share its short name
    assert admin.post("/areas", {"code": "HD03-1-7", "name": "白马一网格东区", "parent": "HD03-1"}).status_code == 201
    assert admin.post("/areas", {"code": "HD03-2-2", "name": "白马社区二网格", "parent": "HD03-2"}).status_code == 201
    # a sub-district and the community inside it may share 江口 (the deeper one wins, the other sees it)
    assert admin.post("/areas", {"code": "HD04", "name": "江口街道", "kind": "subdistrict",
                                 "parent": "HD"}).status_code == 201
    assert admin.post("/areas", {"code": "HD04-1", "name": "江口社区", "kind": "community",
                                 "parent": "HD04"}).status_code == 201
    assert admin.post("/areas", {"code": "HD04-1-1", "name": "江口一网格", "parent": "HD04-1"}).status_code == 201


def test_the_cli_and_aliases_follow_the_same_rules(app, tmp_path, world):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "c"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}
    run = CliRunner()
    generic = run.invoke(main, ["areas", "add", "HD03-1-9", "楼下网格", "--parent", "HD03-1"], env=env)
    assert generic.exit_code == 1 and "not a place name" in generic.output
    taken = run.invoke(main, ["areas", "add", "HD03-1-9", "白马社区", "--parent", "HD03-1"], env=env)
    assert taken.exit_code == 1 and "already names" in taken.output
    alias = run.invoke(main, ["areas", "alias", "HD03-1-1", "白马社区"], env=env)
    assert alias.exit_code == 1 and "already names" in alias.output
    assert run.invoke(main, ["areas", "alias", "HD03-1-1", "楼下"], env=env).exit_code == 1
    assert run.invoke(main, ["areas", "alias", "HD03-1-1", "映月路"], env=env).exit_code == 0
    assert run.invoke(main, ["areas", "alias", "HD03-2-1", "映月路"], env=env).exit_code == 1  # unique


def test_the_roster_import_follows_the_same_rules(app, client, world):
    admin = as_(client, world, "admin")
    assert admin.post("/areas", {"code": "HD04", "name": "江口街道", "kind": "subdistrict",
                                 "parent": "HD"}).status_code == 201
    _, scoped = area_admin(client, world, "HD03")
    rows = [["映月社区", "白马一网格", "甲", "17001000021", "网格员"],     # line 2: names a grid of 白马社区
            ["映月社区", "楼下", "乙", "17001000022", "网格员"],           # line 3: generic
            ["江口北社区", "", "丙", "17001000023", "社区书记"],           # line 4: overlaps 江口街道 (not hers)
            ["映月社区", "映月社区第五网格", "丁", "17001000024", "网格员"],  # line 5: fine
            ["新桥社区", "第一网格", "戊", "17001000025", "网格员"],         # line 6: fine …
            ["新华社区", "第一网格", "己", "17001000026", "网格员"]]         # line 7: … but not twice
    response = scoped.client.post("/api/v1/roster/import?parent=HD03", headers=scoped.headers,
                                  data=csv_bytes(rows), content_type="text/csv")
    assert response.status_code == 200, response.get_json()
    errors = {(e["line"], e["field"]) for e in response.get_json()["errors"]}
    assert errors == {(2, "grid"), (3, "grid"), (4, "community"), (7, "grid")}, response.get_json()["errors"]
    committed = scoped.client.post("/api/v1/roster/import?parent=HD03&commit=true", headers=scoped.headers,
                                   data=csv_bytes(rows), content_type="text/csv")
    assert committed.status_code == 422
    # the global admin (who reaches everywhere) may name 江口北社区 under HD03; uniqueness still binds her
    ok = client.post("/api/v1/roster/import?parent=HD03", headers=bearer(world.tokens["admin"]),
                     data=csv_bytes(rows[2:5]), content_type="text/csv").get_json()
    assert ok["errors"] == [], ok
    taken = client.post("/api/v1/roster/import?parent=HD03", headers=bearer(world.tokens["admin"]),
                        data=csv_bytes([["江口社区", "", "庚", "17001000027", "社区书记"]]),
                        content_type="text/csv").get_json()
    assert [e["message"] for e in taken["errors"]] == ["'江口' already names 江口街道 (HD04); choose a name that "
                                                       "does not share it."]


def test_an_old_generic_name_no_longer_routes_texts(console_app):
    """An area named before the rule (楼下网格, written straight to the database) takes no text with 楼下."""
    from core.db import db
    from core.models import Area
    from tests.support.sms_fixtures import sms_world
    sms_world(console_app)
    with console_app.app_context():
        parent = db.session.scalar(select(Area).where(Area.code == "HD03-1"))
        old = Area(code="HD03-1-90", name="楼下网格", kind="grid", parent=parent, path="", depth=3)
        db.session.add(old)
        db.session.flush()
        old.path = f"{parent.path}{old.id}/"
        db.session.commit()
    assert _routed(console_app, "楼下有人烧垃圾") == "HD03"
