"""The dashboard's sign-in rules without a browser: the login throttle, sessions ending when a
password changes, CSRF on sign-in itself, scope answers, `gridpatrol password set`, and the demo passwords."""
from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from server.cli import main
from tests.support.factories import build_world  # noqa: F401  (the world fixture's builder)


def _token(client, path="/dashboard/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _set_password(app, phone: str, password: str) -> None:
    from core.domain.members import member_by_phone, set_password
    from core.db import db
    with app.app_context():
        set_password(member_by_phone(db.session, phone), password)
        db.session.commit()


def _leader_phone(app) -> str:
    from core.db import db
    from core.models import Assignment, Member
    with app.app_context():
        return db.session.scalar(select(Member.phone).join(Assignment).where(Assignment.role == "community_leader")
                                 .order_by(Member.id))


def test_login_throttle_refuses_after_five_failures(app, client, world):
    phone = _leader_phone(app)
    _set_password(app, phone, "correct-horse")
    for _ in range(5):
        answer = client.post("/dashboard/login",
                             data={"phone": phone, "password": "wrong", "csrf_token": _token(client)})
        assert answer.status_code == 401
    answer = client.post("/dashboard/login", data={"phone": phone, "password": "correct-horse",
                                                   "csrf_token": _token(client)})
    assert answer.status_code == 429
    assert "登录失败次数过多" in answer.get_data(as_text=True)


def test_sign_in_needs_the_csrf_token_and_a_password_change_ends_other_sessions(app, world):
    phone = _leader_phone(app)
    _set_password(app, phone, "correct-horse")
    first, second = app.test_client(), app.test_client()
    assert first.post("/dashboard/login", data={"phone": phone, "password": "correct-horse"}).status_code == 403
    for client in (first, second):
        answer = client.post("/dashboard/login", data={"phone": phone, "password": "correct-horse",
                                                       "csrf_token": _token(client)})
        assert answer.status_code == 302
        assert client.get("/dashboard/").status_code == 200
    cookie = first.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    answer = first.post("/dashboard/password", data={"current": "correct-horse", "new": "battery-staple",
                                                     "again": "battery-staple",
                                                     "csrf_token": _token(first, "/dashboard/password")})
    assert answer.status_code == 302
    assert first.get("/dashboard/").status_code == 200
    assert second.get("/dashboard/").status_code == 302  # signed out: back to the login page


def test_password_set_command_and_sign_in(app, world, tmp_path):
    phone = _leader_phone(app)
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "cli"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}
    short = CliRunner().invoke(main, ["password", "set", "--phone", phone, "--password-stdin"], input="short\n",
                               env=env)
    assert short.exit_code != 0 and "8" in short.output
    result = CliRunner().invoke(main, ["password", "set", "--phone", phone, "--password-stdin"],
                                input="a-long-password\n", env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    client = app.test_client()
    answer = client.post("/dashboard/login", data={"phone": phone, "password": "a-long-password",
                                                   "csrf_token": _token(client)})
    assert answer.status_code == 302


def test_demo_leaders_have_the_listed_password(db):
    from server.demo import load_demo
    from core.domain.members import check_password, member_by_phone
    out = load_demo(db.session)
    db.session.commit()
    entry = next(e for e in out["staff_tokens"] if e["role"] == "community_leader")
    assert check_password(member_by_phone(db.session, entry["phone"]), entry["password"])
    assert check_password(member_by_phone(db.session, out["admin"]["phone"]), out["admin"]["password"])
    patroller = next(e for e in out["members"] if e["roles"][0]["role"] == "patroller")
    assert "password" not in patroller


def test_pages_need_sign_in_and_keep_scope(app, client, world):
    assert client.get("/dashboard/problems").status_code == 302
    assert client.post("/dashboard/reports/generate", data={}).status_code == 403  # no CSRF token
    phone = _leader_phone(app)
    _set_password(app, phone, "correct-horse")
    client.post("/dashboard/login", data={"phone": phone, "password": "correct-horse", "csrf_token": _token(client)})
    from core.db import db
    from core.models import Area
    with app.app_context():
        codes = list(db.session.scalars(select(Area.code).where(Area.kind == "community").order_by(Area.code)))
    answers = {code: client.get(f"/dashboard/problems?area={code}").status_code for code in codes}
    assert sorted(answers.values()) == [200, 403], answers
    assert client.get("/dashboard/problems?since=not-a-date").status_code == 422
    assert client.get("/dashboard/problems?after=garbage").status_code == 422
    assert client.get("/dashboard/problems/999999999").status_code == 404
