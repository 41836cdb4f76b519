"""The rare paths: two copies of a webhook at once, two queue_message calls racing on one key, a command
that blows up half-way, and a status callback that arrives before the send job saved its answer."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select
import pytest

from core.db import db
from core.models import Incident, utcnow
from sms import inbound as inbound_module
from sms.models import InboundMessage, OutboundMessage
from sms.delivery import apply_status_callback
from sms.outbox import queue_message, send_message_job
from sms.parser import parse
from tests.support.sms_fixtures import sms_world
from sms.providers.twilio.standin import inbound_params, signed_post

pytestmark = pytest.mark.both_databases  # races: concurrency behaves differently per database

RESIDENT = "+8613912345678"


def test_concurrent_copy_of_a_webhook_rolls_back_and_replays_the_winner(console_app, monkeypatch):
    sms_world(console_app)
    client = console_app.test_client()
    params = inbound_params(RESIDENT, "举报 烧煤 映月路12号", sid="SM" + "b" * 32)
    first = signed_post(client, "/sms/twilio/inbound", params)
    # The second copy did its lookup before the first committed: it sees no row and runs the command.
    real = inbound_module.preflight
    calls = {"n": 0}

    def blind_first_time(session, sid, sender, now):
        facts = real(session, sid, sender, now)
        calls["n"] += 1
        if calls["n"] == 1:
            facts.seen_id = None
        return facts

    monkeypatch.setattr(inbound_module, "preflight", blind_first_time)
    second = signed_post(client, "/sms/twilio/inbound", params)
    assert second.status_code == 200 and second.get_data() == first.get_data()
    with console_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1  # its incident rolled back
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_racing_queue_message_calls_return_the_winner(console_app, monkeypatch):
    with console_app.app_context():
        winner = queue_message(db.session, to=RESIDENT, body="抢先", key="race")
        db.session.commit()
        real_scalar = db.session.scalar
        state = {"blind": True}

        def scalar(statement, *args, **kwargs):  # the loser's first lookup happened before the commit
            if state["blind"] and "sms_outbound.key" in str(statement):
                state["blind"] = False
                return None
            return real_scalar(statement, *args, **kwargs)

        monkeypatch.setattr(db.session, "scalar", scalar)
        loser = queue_message(db.session, to=RESIDENT, body="落后", key="race")
        monkeypatch.undo()
        assert loser.id == winner.id and loser.body == "抢先"
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_a_command_that_crashes_is_stored_with_outcome_error(console_app, monkeypatch):
    sms_world(console_app)

    def explode(ctx):
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(__import__("sms.commands").commands.HANDLERS, "query", explode)
    response = signed_post(console_app.test_client(), "/sms/twilio/inbound", inbound_params(RESIDENT, "查询 100001"))
    assert response.status_code == 200 and "短信已保存" in response.get_data(as_text=True)
    with console_app.app_context():
        row = db.session.scalar(select(InboundMessage))
        assert (row.outcome, row.error_code, row.body) == ("error", "internal", "查询 100001")


def test_status_callback_before_the_job_saved_its_answer(console_app):
    """Twilio accepted, its callback won the race with our second commit, then the worker died."""
    with console_app.app_context():
        message = OutboundMessage(key="cb-first", to_number=RESIDENT, body="回调先到", state="sending", attempts=1,
                                  sending_at=utcnow() - timedelta(minutes=5))
        db.session.add(message)
        db.session.commit()
        apply_status_callback(db.session, reference=message.reference, sid="SMcallback", status="sent")
        db.session.commit()
        assert message.state == "sent" and message.provider_sid == "SMcallback"

        stuck = OutboundMessage(key="cb-queued", to_number=RESIDENT, body="只收到queued回调", state="sending",
                                attempts=1, sending_at=utcnow() - timedelta(minutes=5))
        db.session.add(stuck)
        db.session.commit()
        apply_status_callback(db.session, reference=stuck.reference, sid="SMqueued", status="queued")
        db.session.commit()
        assert stuck.state == "sending" and stuck.provider_sid == "SMqueued"
        assert send_message_job(stuck.id) == "sent"  # reconciled from the callback's SID, nothing resent
        db.session.expire_all()
        stuck = db.session.get(OutboundMessage, stuck.id)
        assert any(e.get("how") == "status callback" for e in stuck.history)
        from sms.providers import get_backend
        assert [m.body for m in get_backend().sent] == []


def test_expiry_applies_to_rows_waiting_for_retry(console_app):
    with console_app.app_context():
        message = OutboundMessage(key="old-retry", to_number=RESIDENT, body="等重试", state="queued", attempts=2,
                                  created_at=utcnow() - timedelta(hours=7), next_attempt_at=utcnow())
        db.session.add(message)
        db.session.commit()
        assert send_message_job(message.id) == "expired"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_raises(text):
    parsed = parse(text)
    assert parsed.command in {"report", "query", "help", "stop", "start", "patrol", "found", "handle",
                              "escalate", "ack", "empty"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["举报", "JB", "巡查", "XC", "发现", "F", "办结", "上报", "收到", "HD03-1-1", "烧煤",
                                 "5", "即办", "承诺3天", "C3", "100001", "，", "#", "　", "１２", "正常", "?", "舉報"]),
                max_size=8))
def test_parser_never_raises_on_command_soup(words):
    text = " ".join(words)
    assert parse(text).command


def test_real_concurrent_copies_of_a_webhook_run_once(console_app):
    """Eight threads post the same signed MessageSid at once (PostgreSQL: truly concurrent)."""
    import threading
    sms_world(console_app)
    params = inbound_params(RESIDENT, "举报 烧煤 映月路12号", sid="SM" + "c" * 32)
    barrier = threading.Barrier(8)
    replies = []

    def post():
        client = console_app.test_client()
        barrier.wait()
        response = signed_post(client, "/sms/twilio/inbound", params)
        replies.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replies) == 8 and {status for status, _ in replies} == {200}
    assert len({body for _, body in replies}) == 1 and b"100001" in replies[0][1]
    with console_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_real_concurrent_queue_message_same_key_sends_once(console_app):
    import threading
    from sms.providers import get_backend
    barrier = threading.Barrier(6)
    ids = []

    def queue():
        with console_app.app_context():
            barrier.wait()
            message = queue_message(db.session, to=RESIDENT, body="并发", key="concurrent")
            db.session.commit()
            ids.append(message.id)
            db.session.remove()

    threads = [threading.Thread(target=queue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    console_app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert len(ids) == 6 and len(set(ids)) == 1
    with console_app.app_context():
        assert [m.body for m in get_backend().sent] == ["并发"]
