"""Issue 9: nothing lost when a dependency blinks. PostgreSQL and Redis are cut with a local TCP proxy
(tests/support/tcp_proxy.py) the test starts in front of the shared servers — never by restarting them.

- failure 8: the SMS webhook answered 500 during a database outage and the text was lost (Twilio does not
  retry); the API and sync answered 500 where 503 + Retry-After is promised.
- failure 9: with Redis down a committed report answered 500; database errors were logged with their
  parameters (residents' phones, SMS bodies).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import Incident
from sms.models import InboundMessage, OutboundMessage
from tests.conftest import bearer
from tests.support.sms_fixtures import _close, build_sms_app, sms_world
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, inbound_params, signed_post
from tests.support.tcp_proxy import TcpProxy

INBOUND = "/sms/twilio/inbound"
RESIDENT = "+8613912345678"


@pytest.fixture
def cut_app(pg_proxy, postgres_url, tmp_path):
    app = build_sms_app(pg_proxy.url_for(postgres_url), tmp_path, SMS_BACKEND="console",
                        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    yield app
    pg_proxy.restore()
    _close(app)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_texts_during_a_database_outage_are_spooled_and_replayed_once(cut_app, pg_proxy, caplog):
    from sms import spool
    world = sms_world(cut_app)
    client = cut_app.test_client()
    assert signed_post(client, INBOUND, inbound_params(RESIDENT, "举报 烧煤 映月路1号")).status_code == 200
    pg_proxy.cut()
    caplog.set_level(logging.INFO)
    during = [inbound_params(RESIDENT, f"举报 烧煤 映月路{n}号") for n in range(2, 6)]
    for params in during:
        response = signed_post(client, INBOUND, params)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "短信已保存" in response.get_data(as_text=True)
    # the API and sync answer 503 + Retry-After meanwhile
    api = client.get("/api/v1/areas", headers=bearer(world.tokens["admin"]))
    assert api.status_code == 503 and api.headers["Retry-After"] and api.get_json()["error"] == "unavailable"
    sync = client.post("/api/v1/sync", json={"cursor": None, "changes": []}, headers=bearer(world.device_token))
    assert sync.status_code == 503 and sync.headers["Retry-After"]
    assert spool.pending_count(cut_app.config["INSTANCE_PATH"]) == 4
    # logs: no statement parameters, no full phone number
    assert "13912345678" not in caplog.text and "映月路3号" not in caplog.text
    assert "[parameters:" not in caplog.text
    # the same MessageSid arriving again (a provider retry) while still down is spooled twice; replay stores once
    signed_post(client, INBOUND, during[0])
    replay_while_down = spool.replay(cut_app)
    assert replay_while_down["replayed"] == 0 and replay_while_down["left"] == 5
    pg_proxy.restore()
    result = spool.replay(cut_app)
    assert result == {"replayed": 4, "already_stored": 1, "left": 0, "bad_lines": 0}
    assert spool.replay(cut_app)["replayed"] == 0
    assert _count(cut_app, InboundMessage) == 5 and _count(cut_app, Incident) == 5
    with cut_app.app_context():
        replies = db.session.scalars(select(OutboundMessage).where(OutboundMessage.key.like("reply:%"))).all()
        assert len(replies) == 4 and all(r.body.startswith("已受理，工单号") for r in replies)
        assert {r.to_number for r in replies} == {RESIDENT}


def test_replay_job_runs_from_the_periodic_timer_and_after_the_next_stored_text(cut_app, pg_proxy):
    from sms import spool
    sms_world(cut_app)
    client = cut_app.test_client()
    pg_proxy.cut()
    signed_post(client, INBOUND, inbound_params(RESIDENT, "举报 烧煤 映月路7号"))
    pg_proxy.restore()
    # the next text that reaches the database queues the replay on the job runner
    signed_post(client, INBOUND, inbound_params(RESIDENT, "举报 烧煤 映月路8号"))
    cut_app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert spool.pending_count(cut_app.config["INSTANCE_PATH"]) == 0
    assert _count(cut_app, Incident) == 2
    from workers.periodic import PERIODIC
    assert PERIODIC["sms_spool"][0] == "sms.spool.replay_spool_job"


def test_the_office_phones_texts_during_a_database_outage_are_spooled_and_answered_through_it(
        pg_proxy, postgres_url, tmp_path):
    """The Android webhook: a text while the database is cut is spooled (200, so the phone does not
    resend it forever), a delivery report is 503 (the phone resends it); after the replay the text is
    filed once and its answer leaves through the phone."""
    from sms import spool
    from sms.providers.android.standin import AndroidPhoneStandIn, android_config, received_payload, signed_webhook
    phone = AndroidPhoneStandIn().start()
    app = build_sms_app(pg_proxy.url_for(postgres_url), tmp_path, **android_config(phone))
    try:
        sms_world(app)
        client = app.test_client()
        pg_proxy.cut()
        raw, headers = signed_webhook("sms:received", received_payload(RESIDENT, "举报 烧煤 映月路9号"))
        response = client.post("/sms/android/webhook", data=raw, headers=headers)
        assert response.status_code == 200 and response.get_json()["status"] == "spooled"
        raw, headers = signed_webhook("sms:delivered", {"messageId": "x", "deliveredAt": "2026-11-30T08:00:00Z"})
        report = client.post("/sms/android/webhook", data=raw, headers=headers)
        assert report.status_code == 503 and report.get_json()["error"] == "unavailable"
        assert spool.pending_count(app.config["INSTANCE_PATH"]) == 1
        pg_proxy.restore()
        assert spool.replay(app)["replayed"] == 1
        app.extensions["gridpatrol.runner"].wait(timeout=30)
        sent = phone.wait_for(1)
        assert [m["to"] for m in sent] == [RESIDENT] and sent[0]["text"].startswith("已受理，工单号")
        assert _count(app, Incident) == 1
    finally:
        pg_proxy.restore()
        _close(app)
        phone.stop()


def test_a_torn_spool_line_is_skipped_not_fatal(tmp_path, console_app):
    from sms import spool
    sms_world(console_app)
    path = spool.append(console_app.config["INSTANCE_PATH"], provider="twilio", message_sid="SM" + "a" * 32,
                        sender=RESIDENT, to="", body="举报 烧煤 映月路9号")
    with open(path, "ab") as handle:
        handle.write(b'{"provider": "twilio", "message_')  # a crash mid-write: never acknowledged
    result = spool.replay(console_app)
    assert result["replayed"] == 1 and result["bad_lines"] == 1 and result["left"] == 0


def test_redis_down_never_turns_a_committed_report_into_a_500(postgres_url, redis_url, tmp_path):
    """Failure 9: POST /reports/weekly with send_sms committed, then answered 500 when Redis was down."""
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    from core.models.alerts import WeeklyReport
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname, parts.port or 6379)
    app = make_app(postgres_url, tmp_path, REDIS_URL=proxy.url_for(redis_url), WORKERS_RQ_DASHBOARD=False)
    try:
        with app.app_context():
            reset_database(db)
            world = build_world(db.session)
            db.session.commit()
        proxy.cut()
        response = app.test_client().post("/api/v1/reports/weekly", headers=bearer(world.tokens["admin"]),
                                          json={"area_id": "HD03", "send_sms": True})
        assert response.status_code == 201, response.get_data(as_text=True)
        assert _count(app, WeeklyReport) == 1
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and health.get_json()["redis"]["ok"] is False
    finally:
        proxy.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_error_logs_hide_parameters_and_mask_phones(caplog):
    from core.domain.phones import mask_phones_in
    assert mask_phones_in("from +8613912345678 and 13912345678.") == "from +861****5678 and 139****5678."
    assert mask_phones_in("SM0000000000000000000000000000001f") == "SM0000000000000000000000000000001f"
    from server import create_app
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "REDIS_URL": None})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    caplog.set_level(logging.INFO)
    logging.getLogger("gridpatrol.test").warning("resident %s wrote", "+8613912345678")
    assert "+8613912345678" not in caplog.text and "5678" in caplog.text


def test_production_warnings_in_log_and_healthz(tmp_path, caplog, monkeypatch):
    """Failure 5: production on the console backend, with no schedule, told nobody anything."""
    from server import create_app
    from core.db import db as database
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    caplog.set_level(logging.WARNING)
    # Earlier tests in the same process may have configured logging (a logging fileConfig disables loggers
    # that exist by then): make sure this module's records reach caplog whatever ran before.
    startup_log = logging.getLogger("gridpatrol.startup")
    monkeypatch.setattr(startup_log, "disabled", False)
    monkeypatch.setattr(startup_log, "propagate", True)
    caplog.set_level(logging.WARNING, logger="gridpatrol.startup")
    config = {"GRIDPATROL_ENV": "production", "SECRET_KEY": "k", "REDIS_URL": None, "SMS_BACKEND": "console",
              "INSTANCE_PATH": str(tmp_path), "WORKERS_EMBEDDED_TIMER": False}
    app = create_app(config)
    assert "PRODUCTION WARNING not_migrated" in caplog.text
    with app.app_context():
        database.create_all()
    caplog.clear()
    app = create_app(config)
    for code in ("sms_console", "no_schedule", "empty_catalogue"):
        assert f"PRODUCTION WARNING {code}" in caplog.text
    body = app.test_client().get("/healthz").get_json()
    assert [w.split(":")[0] for w in body["warnings"]] == ["sms_console", "no_schedule", "empty_catalogue"]
    with app.app_context():
        from core.domain.catalogue import seed_categories
        seed_categories(database.session)
        database.session.commit()
    body = app.test_client().get("/healthz").get_json()
    assert [w.split(":")[0] for w in body["warnings"]] == ["sms_console", "no_schedule"]
    dev = create_app({**config, "GRIDPATROL_ENV": "development", "INSTANCE_PATH": str(tmp_path / "d")})
    assert dev.test_client().get("/healthz").get_json()["warnings"] == []
