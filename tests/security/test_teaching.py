"""Threat: re-teaching the classifier for the whole installation. The lexicon is ONE for every area, so
teaching it (words learned when recategorising a report) needs an installation-wide role — the permission
table's lexicon/create row, a global admin's — not a role over the report's grid; a taught word must occur
in the report's text; taught words can be listed and removed (API, CLI, the 待分类 page); every change is
audited."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from server.cli import main
from tests.conftest import bearer
from tests.security.helpers import audit_entries
from sms.providers.twilio.standin import inbound_params, signed_post

RESIDENT = "+8613900002222"
ATTACK = ["鞭炮", "放鞭炮", "散煤", "烧散煤", "烟很大"]


def say(app, sender: str, body: str) -> str:
    import xml.etree.ElementTree as ET
    response = signed_post(app.test_client(), "/sms/twilio/inbound", inbound_params(sender, body))
    assert response.status_code == 200
    return "".join(m.text or "" for m in ET.fromstring(response.get_data(as_text=True)).iter("Message"))


def _category_of(app, text: str) -> str:
    from core.db import db
    from sms.understanding import categorise, store
    with app.app_context():
        return categorise(text, store.lexicon(db.session)).category


def _pending(app, text: str, sid: str = "SMteach000000001") -> str:
    from core.db import db
    from core.models import Incident
    from sms.inbound import receive
    with app.app_context():
        receive(db.session, message_sid=sid, sender=RESIDENT, body=text, config=app.config)
        db.session.commit()
        return db.session.scalar(select(Incident.ticket).order_by(Incident.reported_at.desc()))


def test_a_leader_cannot_reteach_the_installation(console_app):
    """A grid leader's token re-taught 散煤/鞭炮 as 熏制腊肉 for everyone; now any leader's words are refused."""
    from tests.support.sms_fixtures import sms_world
    world = sms_world(console_app)
    before = _category_of(console_app, "石桥社区有人在烧散煤，烟很大")
    ticket = _pending(console_app, "楼下有人玩呲花，吓死人 鞭炮 放鞭炮 散煤 烧散煤 烟很大")
    client = console_app.test_client()
    for who in ("sub_leader", "g11_leader"):
        answer = client.post(f"/api/v1/triage/{ticket}", json={"category": "cured_meat", "learn": ATTACK},
                             headers=bearer(world.tokens[who]))
        assert answer.status_code == 403, (who, answer.get_json())
    assert _category_of(console_app, "石桥社区有人在烧散煤，烟很大") == before == "coal"
    assert not audit_entries(console_app, "catalogue.words.add")


def test_a_taught_word_must_occur_in_the_text(console_app):
    from tests.support.sms_fixtures import sms_world
    world = sms_world(console_app)
    ticket = _pending(console_app, "楼下有人玩呲花，吓死人")
    client = console_app.test_client()
    answer = client.post(f"/api/v1/triage/{ticket}", json={"category": "cured_meat", "learn": ["鞭炮", "呲花"]},
                         headers=bearer(world.tokens["admin"]))
    assert answer.status_code == 422 and "鞭炮" in str(answer.get_json()["details"]), answer.get_json()
    assert _category_of(console_app, "白马社区楼下有人放鞭炮") == "fireworks"  # nothing was learned or changed
    answer = client.post(f"/api/v1/triage/{ticket}", json={"category": "fireworks", "learn": ["呲花"]},
                         headers=bearer(world.tokens["admin"]))
    assert answer.status_code == 200, answer.get_json()


def test_taught_words_are_listed_removed_and_audited(console_app, tmp_path):
    from tests.support.sms_fixtures import sms_world
    world = sms_world(console_app)
    ticket = _pending(console_app, "楼下有人玩呲花，吓死人")
    client = console_app.test_client()
    admin, leader = bearer(world.tokens["admin"]), bearer(world.tokens["sub_leader"])
    assert client.post(f"/api/v1/triage/{ticket}", json={"category": "fireworks", "learn": ["呲花"]},
                       headers=admin).status_code == 200
    assert "（烟花爆竹）" in say(console_app, "+8613900003333", "又有人玩呲花")
    listed = client.get("/api/v1/lexicon/words", headers=leader).get_json()["items"]  # leaders may read it
    assert [(w["category"], w["word"], w["source"]) for w in listed] == [("fireworks", "呲花", "recategorise")]
    word_id = listed[0]["id"]
    assert client.delete(f"/api/v1/lexicon/words/{word_id}", headers=leader).status_code == 403
    assert client.delete(f"/api/v1/lexicon/words/{word_id}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/lexicon/words/{word_id}", headers=admin).status_code == 404
    assert client.get("/api/v1/lexicon/words", headers=leader).get_json()["items"] == []
    assert "（其他）" in say(console_app, "+8613900004444", "楼下又有人玩呲花")  # the word is gone at once
    added, removed = audit_entries(console_app, "catalogue.words.add"), audit_entries(console_app,
                                                                                      "catalogue.words.remove")
    assert [a["words"] for a in added] == [["呲花"]] and [r["words"] for r in removed] == [["呲花"]]
    from core.db import db
    from core.models import AuditLog
    with console_app.app_context():
        actors = set(db.session.scalars(select(AuditLog.actor_member_id).where(AuditLog.action.like("catalogue.%"))))
        assert actors == {world.ids["admin"]}

    env = {"DATABASE_URL": console_app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "c"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}
    run = CliRunner()
    assert "added 二踢脚" in run.invoke(main, ["catalogue", "words", "add", "烟花爆竹", "二踢脚"], env=env).output
    assert "fireworks\t二踢脚" in run.invoke(main, ["catalogue", "words", "list"], env=env).output
    out = run.invoke(main, ["catalogue", "words", "remove", "烟花爆竹", "二踢脚", "没有的词"], env=env)
    assert out.exit_code == 0 and "removed 二踢脚" in out.output
    assert "二踢脚" not in run.invoke(main, ["catalogue", "words", "list"], env=env).output
    assert [r["words"] for r in audit_entries(console_app, "catalogue.words.remove")] == [["呲花"], ["二踢脚"]]
