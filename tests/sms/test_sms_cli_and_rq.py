"""The sms CLI commands, and the outbox through a real RQ queue on Redis."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from core.db import db
from server.cli.sms import sms_group
from sms.models import InboundMessage, OutboundMessage
from tests.support.sms_fixtures import build_sms_app, sms_world


def test_cli_simulate_send_and_sweep(console_app):
    sms_world(console_app)
    runner = CliRunner()
    with console_app.app_context():
        result = runner.invoke(sms_group, ["simulate", "+8613912345678", "举报 烧煤 映月路12号"])
        assert result.exit_code == 0, result.output
        assert "[report/ok] 已受理，工单号100001" in result.output
        result = runner.invoke(sms_group, ["send", "+8613912345678", "测试短信", "--key", "manual:1"])
        assert result.exit_code == 0 and "manual:1: sent (UCS-2, 1 segment(s))" in result.output
        result = runner.invoke(sms_group, ["sweep"])
        assert result.exit_code == 0 and "expired 0, enqueued 0" in result.output
        assert db.session.scalar(select(InboundMessage.message_sid)).startswith("SIM")


def test_outbox_through_rq_on_redis(db_url, tmp_path, redis_url):
    from redis import Redis
    from rq import Queue, SimpleWorker
    from sms.outbox import queue_message
    connection = Redis.from_url(redis_url)
    Queue("sms", connection=connection).empty()
    app = build_sms_app(db_url, tmp_path, REDIS_URL=redis_url)
    try:
        with app.app_context():
            queue_message(db.session, to="+8613912345678", body="经由RQ发送", key="rq:1")
            db.session.commit()
            queue = Queue("sms", connection=connection)
            assert queue.count == 1
            SimpleWorker([queue], connection=connection).work(burst=True)
            db.session.expire_all()
            message = db.session.scalar(select(OutboundMessage).where(OutboundMessage.key == "rq:1"))
            assert message.state == "sent" and message.provider_sid.startswith("CONSOLE")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_gridpatrol_cli_has_the_sms_commands(console_app):
    from server.cli import main
    sms_world(console_app)
    url = console_app.config["SQLALCHEMY_DATABASE_URI"]
    env = {"DATABASE_URL": url, "REDIS_URL": "", "GRIDPATROL_ENV": "development",
           "GRIDPATROL_INSTANCE": console_app.config["INSTANCE_PATH"]}
    result = CliRunner().invoke(main, ["sms", "simulate", "+8617000000007", "巡查 HD03-1-1 正常"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[patrol/ok] 已记录HD03-1-1巡查：正常")
