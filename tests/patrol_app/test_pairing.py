"""Pairing: one-time codes valid 24 h, exchanged once for a device token (domain, HTTP and CLI), and the
settings the server publishes to devices (SMS gateway number, fallback wait)."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from core.domain.access import Principal
from core.domain.pairing import (CODE_LENGTH, issue_pairing_code, normalize_code, pairing_qr_svg,
                                   redeem_pairing_code)
from core.domain.errors import Conflict, Forbidden, NotFound
from core.db import db
from core.models import AuditLog, Device, Member, utcnow
from tests.conftest import bearer


def _member(session, world, key):
    return session.get(Member, world.ids[key])


def test_code_is_short_one_time_and_audited(app, world, session):
    issued = issue_pairing_code(session, _member(session, world, "patroller"), actor_label="cli", channel="cli")
    assert len(normalize_code(issued.code)) == CODE_LENGTH and issued.code[4] == "-"
    assert issued.path == f"/app/pair?code={normalize_code(issued.code)}"
    assert timedelta(hours=23, minutes=59) < issued.expires_at - utcnow() <= timedelta(hours=24)
    device, token = redeem_pairing_code(session, issued.code.lower().replace("-", " "), device_name="吴的手机")
    assert token.startswith("gpd_") and device.member_id == world.ids["patroller"] and device.name == "吴的手机"
    with pytest.raises(NotFound) as used:
        redeem_pairing_code(session, issued.code)
    assert used.value.code == "pairing_code_invalid"
    actions = session.scalars(select(AuditLog.action)).all()
    assert "device.pairing_code" in actions and "device.paired" in actions


def test_expired_unknown_and_garbled_codes_are_refused(app, world, session):
    issued = issue_pairing_code(session, _member(session, world, "patroller"))
    with pytest.raises(NotFound):
        redeem_pairing_code(session, issued.code, now=utcnow() + timedelta(hours=24, seconds=1))
    for bad in ("", "ABCD", "ZZZZ-ZZZZ", "x" * 500, "😀" * 8):
        with pytest.raises(NotFound):
            redeem_pairing_code(session, bad)
    redeem_pairing_code(session, f"https://example.org/app/pair?code={normalize_code(issued.code)}&x=1")


def test_only_leaders_over_the_member_issue_codes(app, world, session):
    patroller = _member(session, world, "patroller")
    leader = Principal.for_member(_member(session, world, "g11_leader"))
    other = Principal.for_member(_member(session, world, "c2_leader"))
    peer = Principal.for_member(_member(session, world, "patroller2"))
    assert issue_pairing_code(session, patroller, actor=leader).member_id == patroller.id
    for actor in (other, peer):
        with pytest.raises(Forbidden):
            issue_pairing_code(session, patroller, actor=actor)
    patroller.active = False
    with pytest.raises(Conflict):
        issue_pairing_code(session, patroller, actor=leader)


def test_a_code_redeemed_then_member_deactivated(app, world, session):
    issued = issue_pairing_code(session, _member(session, world, "patroller"))
    _member(session, world, "patroller").active = False
    with pytest.raises(NotFound) as refused:  # like a wrong code: no name, no hint that the code was real
        redeem_pairing_code(session, issued.code)
    assert refused.value.code == "pairing_code_invalid" and "吴巡查" not in refused.value.message


def test_exchange_endpoint_and_published_settings(app, world, client):
    app.config["SMS_GATEWAY_NUMBER"] = "+8610690001234"
    with app.app_context():
        code = issue_pairing_code(db.session, db.session.get(Member, world.ids["patroller"])).code
        db.session.commit()
    got = client.post("/app/api/pair", json={"code": code, "device_name": "测试机"})
    assert got.status_code == 201, got.get_json()
    body = got.get_json()
    assert body["token"].startswith("gpd_") and body["member"]["name"] == "吴巡查"
    assert body["sms_gateway_number"] == "+8610690001234" and body["sms_fallback_minutes"] == 30
    settings = client.get("/app/api/settings", headers=bearer(body["token"]))
    assert settings.status_code == 200 and settings.get_json()["sms_gateway_number"] == "+8610690001234"
    again = client.post("/app/api/pair", json={"code": code})
    assert again.status_code == 404 and again.get_json()["error"] == "pairing_code_invalid"
    # the token syncs
    sync = client.post("/api/v1/sync", json={"device_id": body["device_id"], "schema_version": 1, "changes": []},
                       headers=bearer(body["token"]))
    assert sync.status_code == 200


@pytest.mark.parametrize("payload, status, error", [
    (b"not json", 400, "invalid_json"), (b"[1,2]", 400, "invalid_json"), (b'{"code": 5}', 422, None),
    (b'{"code": "ABCD-EFGH", "device_name": 7}', 422, None), (b'{"code": "NOPE-NOPE"}', 404, "pairing_code_invalid"),
    (b'{"code": "' + b"A" * 300 + b'"}', 422, None)])
def test_exchange_bad_input(app, world, client, payload, status, error):
    got = client.post("/app/api/pair", data=payload, content_type="application/json")
    assert got.status_code == status, got.get_json()
    assert set(got.get_json()) == {"error", "message", "details"}
    if error:
        assert got.get_json()["error"] == error


def test_settings_and_actions_need_a_device_token(app, world, client):
    assert client.get("/app/api/settings").status_code == 401
    assert client.get("/app/api/settings", headers=bearer(world.tokens["admin"])).status_code == 403
    got = client.post("/app/api/incidents/nope/escalate", headers=bearer(world.device_token))
    assert got.status_code == 404
    got = client.post("/app/api/incidents/nope/close", headers=bearer(world.device_token))
    assert got.status_code == 404


def test_two_phones_racing_with_one_code_get_one_device(app, world):
    with app.app_context():
        code = issue_pairing_code(db.session, db.session.get(Member, world.ids["patroller"])).code
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Device))
    statuses = []

    def redeem():
        statuses.append(app.test_client().post("/app/api/pair", json={"code": code}).status_code)
    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses)[0] == 201 and statuses.count(201) == 1, statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == before + 1


def test_cli_prints_code_link_and_qr(app, world, tmp_path):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "cli"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_PUBLIC_BASE_URL": "https://gp.example.org"}
    result = CliRunner().invoke(main, ["device", "pair", "--phone", "170 0000 0007", "--json"], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["link"] == "https://gp.example.org" + data["path"] and len(data["code"]) == 9
    text = CliRunner().invoke(main, ["device", "pair", "--phone", "+8617000000007"], env=env, catch_exceptions=False)
    assert text.exit_code == 0 and "/app/pair?code=" in text.stdout and "█" in text.stdout
    missing = CliRunner().invoke(main, ["device", "pair", "--phone", "+8617000000099"], env=env)
    assert missing.exit_code == 1 and "no member" in missing.output
    assert pairing_qr_svg("https://gp.example.org/app/pair?code=ABCDEFGH").startswith("<svg")


def test_guessing_codes_is_cut_off(app, world, client):
    from core.domain.pairing import WRONG_CODES_ALLOWED
    with app.app_context():
        code = issue_pairing_code(db.session, db.session.get(Member, world.ids["patroller"])).code
        db.session.commit()
    for n in range(WRONG_CODES_ALLOWED):
        assert client.post("/app/api/pair", json={"code": f"WRONG{n:03d}"}).status_code == 404
    refused = client.post("/app/api/pair", json={"code": code})
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_attempts"
    other_phone = client.post("/app/api/pair", json={"code": code}, environ_base={"REMOTE_ADDR": "10.20.0.7"})
    assert other_phone.status_code == 201  # the limit is per client address
