"""Pairing a phone and the 待分类 list from the dashboard without a browser: who may, CSRF,
and refusals that change nothing."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.support.factories import build_world  # noqa: F401  (the world fixture's builder)

PASSWORD = "correct-horse"


def _token(client, path="/dashboard/password") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def signed_in(app, member_id: int):
    from core.domain.members import set_password
    from core.db import db
    from core.models import Member
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
    from core.db import db
    from core.models.pairing import PairingCode
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
    from core.db import db
    from core.models import Member
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


def _pending_ticket(app) -> str:
    """A resident's text no category is sure of, through the real inbound path: 待分类 at the intake area HD03."""
    from core.db import db
    from core.models import Incident
    from sms.inbound import receive
    with app.app_context():
        receive(db.session, message_sid="SMfollowup000001", sender="+8617009990201", body="楼下有人玩呲花，吓死人",
                config=app.config)
        db.session.commit()
        return db.session.scalar(select(Incident.ticket))


def _still_pending(app, ticket: str) -> bool:
    from core.db import db
    from core.models import Incident
    from sms.understanding.models import IncidentUnderstanding
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.ticket == ticket))
        return db.session.get(IncidentUnderstanding, incident.id).needs_triage and incident.category.code == "other"


def test_triage_is_scoped_and_bad_input_changes_nothing(app, world):
    ticket = _pending_ticket(app)
    outsider = signed_in(app, world.ids["c2_leader"])
    assert f'data-ticket="{ticket}"' not in outsider.get("/dashboard/triage").get_data(as_text=True)
    answer = outsider.post(f"/dashboard/triage/{ticket}",
                           data={"category": "fireworks", "csrf_token": _token(outsider)}, follow_redirects=True)
    assert "outside your areas" in answer.get_data(as_text=True) and _still_pending(app, ticket)

    leader = signed_in(app, world.ids["sub_leader"])
    assert f'data-ticket="{ticket}"' in leader.get("/dashboard/triage").get_data(as_text=True)
    assert leader.post(f"/dashboard/triage/{ticket}", data={"category": "fireworks"}).status_code == 403  # no CSRF
    assert leader.post("/dashboard/triage/999999",
                       data={"category": "6", "csrf_token": _token(leader)}).status_code == 404
    for bad in ({"category": "外星人"}, {"category": ""}, {"category": "6", "learn_more": "长" * 41},
                {"category": "6", "learn_more": " ".join(f"词{i}" for i in range(21))}):
        answer = leader.post(f"/dashboard/triage/{ticket}", data={**bad, "csrf_token": _token(leader)},
                             follow_redirects=True)
        assert 'class="flash error"' in answer.get_data(as_text=True), bad
        assert _still_pending(app, ticket), bad

    # teaching the installation's lexicon is a global admin's: a leader's words are refused, nothing changes
    assert 'name="learn"' not in leader.get("/dashboard/triage").get_data(as_text=True)
    answer = leader.post(f"/dashboard/triage/{ticket}", data={"category": "6", "learn": ["呲花"],
                                                              "csrf_token": _token(leader)}, follow_redirects=True)
    assert 'class="flash error"' in answer.get_data(as_text=True) and _still_pending(app, ticket)
    admin = signed_in(app, world.ids["admin"])
    answer = admin.post(f"/dashboard/triage/{ticket}", data={"category": "6", "learn_more": "电光花",
                                                             "csrf_token": _token(admin)}, follow_redirects=True)
    assert "does not occur in the text" in answer.get_data(as_text=True) and _still_pending(app, ticket)
    answer = admin.post(f"/dashboard/triage/{ticket}",
                        data={"category": "6", "learn": ["呲花"], "learn_more": "玩呲花、 吓死",
                              "csrf_token": _token(admin)}, follow_redirects=True)
    assert f"已将 {ticket} 改为「烟花爆竹」，并学会了：呲花、玩呲花、吓死" in answer.get_data(as_text=True)
    assert not _still_pending(app, ticket)
    again = leader.post(f"/dashboard/triage/{ticket}", data={"category": "5", "csrf_token": _token(leader)},
                        follow_redirects=True)
    assert "已不在待分类列表中" in again.get_data(as_text=True)
    from core.db import db
    from sms.understanding.models import LexiconWord, Recategorisation
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Recategorisation)) == 1
        assert set(db.session.scalars(select(LexiconWord.word))) == {"呲花", "玩呲花", "吓死"}
        taught = {w: i for i, w in db.session.execute(select(LexiconWord.id, LexiconWord.word))}
    # the list on the 待分类 page: a leader reads it, only the global admin removes a word
    assert 'data-word="吓死"' in leader.get("/dashboard/triage").get_data(as_text=True)
    refused = leader.post(f"/dashboard/triage/words/{taught['吓死']}/remove", data={"csrf_token": _token(leader)},
                          follow_redirects=True)
    assert 'class="flash error"' in refused.get_data(as_text=True)
    removed = admin.post(f"/dashboard/triage/words/{taught['吓死']}/remove", data={"csrf_token": _token(admin)},
                         follow_redirects=True)
    assert "已删除「吓死」" in removed.get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(select(LexiconWord.word))) == {"呲花", "玩呲花"}


def test_the_dashboard_asks_the_permission_table_instead_of_copying_it():
    """No private helper of another feature and no role set of its own: pages ask core.domain.access (or a
    public function the API shares), so a rule lives once."""
    import ast
    from pathlib import Path

    from core.models import ROLES
    root = Path(__file__).resolve().parents[2] / "web" / "dashboard"
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("web.dashboard"):
                found += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") or re.search(r"ROLES|WRITERS|INSPECTORS|KEEPERS|TEACHERS", a.name)]
            if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
                roles = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in ROLES]
                if len(roles) >= 2:
                    found.append(f"{path.name}:{node.lineno}: role set {roles}")
    assert not found, found


def test_the_new_rows_of_the_permission_table():
    from core.domain.access import GLOBAL, STAFF, roles_for, rule
    assert roles_for("devices", "pair") == STAFF and roles_for("devices", "create") == {"admin"}
    assert roles_for("lexicon", "create") == {"admin"} and rule("lexicon", "create").scope == GLOBAL
    assert roles_for("lexicon", "read") == STAFF and roles_for("dashboard", "use") == STAFF
