"""The outbox through the real twilio Client against a local stand-in: idempotency, retries, permanent
errors, expiry, and the crash between Twilio's acceptance and our commit."""
from __future__ import annotations

from datetime import timedelta
import pytest
from sqlalchemy import select

from core.db import db
from core.models import utcnow
from sms.models import OutboundMessage, SmsOptOut
from sms.outbox import queue_message, send_message_job, sweep_outbox
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL

pytestmark = pytest.mark.both_databases  # the outbox claims rows with FOR UPDATE / SKIP LOCKED (a no-op on SQLite)

TO = "+8613800138000"


def _queue(app, key="alert:1", body="【网格巡查】映月一网格上午未巡查，请处理。回复 收到 100001", to=TO, **kw):
    with app.app_context():
        message = queue_message(db.session, to=to, body=body, key=key, **kw)
        db.session.commit()
        message_id = message.id
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    return message_id


def _get(app, message_id) -> OutboundMessage:
    with app.app_context():
        db.session.expire_all()
        return db.session.get(OutboundMessage, message_id)


def test_queued_message_goes_out_through_the_real_client(twilio_app, stand_in):
    message_id = _queue(twilio_app)
    message = _get(twilio_app, message_id)
    assert message.state == "sent"
    assert message.attempts == 1
    assert message.encoding == "UCS-2" and message.segments == 1
    [request] = stand_in.posts
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert set(request.form) == {"To", "From", "Body", "StatusCallback"}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form["To"] == TO and request.form["From"] == FROM_NUMBER
    assert request.form["Body"].startswith("【网格巡查】")
    assert request.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/sms/twilio/status?ref={message.reference}"
    assert message.provider_sid == stand_in.messages[0]["sid"]


def test_same_key_twice_sends_once(twilio_app, stand_in):
    first = _queue(twilio_app, key="alert:dup")
    second = _queue(twilio_app, key="alert:dup", body="a different body")
    assert first == second
    assert len(stand_in.posts) == 1
    # and running the job again after success sends nothing either
    with twilio_app.app_context():
        assert send_message_job(first) == "sent"
    assert len(stand_in.posts) == 1


def test_opted_out_recipient_gets_nothing(twilio_app, stand_in):
    with twilio_app.app_context():
        db.session.add(SmsOptOut(phone=TO))
        db.session.commit()
    message = _get(twilio_app, _queue(twilio_app))
    assert message.state == "opted_out"
    assert stand_in.posts == []


def test_invalid_and_duplicate_are_deliberate_non_sends(twilio_app, stand_in):
    bad = _get(twilio_app, _queue(twilio_app, key="k-bad", to="not a phone"))
    assert bad.state == "invalid_number"
    _queue(twilio_app, key="k-a", body="同一条提醒")
    dup = _get(twilio_app, _queue(twilio_app, key="k-b", body="同一条提醒"))
    assert dup.state == "duplicate"
    assert len(stand_in.posts) == 1


def test_429_retries_with_backoff_then_sends(twilio_app, stand_in):
    stand_in.script = [429, (503, 20500)]
    message_id = _queue(twilio_app)
    message = _get(twilio_app, message_id)
    assert message.state == "queued" and message.error_code == "20429"
    first_due = message.next_attempt_at
    assert first_due > utcnow()
    with twilio_app.app_context():
        assert send_message_job(message_id) == "queued"  # not due yet: nothing sent
    assert len(stand_in.posts) == 1
    with twilio_app.app_context():
        assert send_message_job(message_id, now=first_due) == "queued"  # the 503
        second_due = _get(twilio_app, message_id).next_attempt_at
        assert second_due - first_due > first_due - message.created_at - timedelta(seconds=5)  # backoff grows
        assert send_message_job(message_id, now=second_due) == "sent"
    message = _get(twilio_app, message_id)
    assert message.attempts == 3 and len(stand_in.posts) == 3
    assert [e["event"] for e in message.history].count("retry") == 2


@pytest.mark.parametrize("code,state", [(21211, "invalid_number"), (21610, "opted_out"), (21408, "failed")])
def test_permanent_errors_do_not_retry(twilio_app, stand_in, code, state):
    stand_in.script = [(400, code)]
    message = _get(twilio_app, _queue(twilio_app))
    assert message.state == state and message.error_code == str(code)
    assert message.next_attempt_at is None
    with twilio_app.app_context():
        send_message_job(message.id, now=utcnow() + timedelta(hours=1))
        assert (db.session.get(SmsOptOut, TO) is not None) == (code == 21610)
    assert len(stand_in.posts) == 1


def test_gives_up_after_max_attempts(twilio_app, stand_in):
    twilio_app.config["SMS_MAX_ATTEMPTS"] = 2
    stand_in.script = [429, 429, 429]
    message_id = _queue(twilio_app)
    with twilio_app.app_context():
        assert send_message_job(message_id, now=utcnow() + timedelta(hours=1)) == "failed"
    assert len(stand_in.posts) == 2


def test_message_still_queued_after_six_hours_expires(twilio_app, stand_in):
    stand_in.script = [429]
    message_id = _queue(twilio_app)
    with twilio_app.app_context():
        later = utcnow() + timedelta(hours=6, seconds=1)
        assert send_message_job(message_id, now=later) == "expired"
    assert len(stand_in.posts) == 1


def test_sweeper_expires_old_rows_and_requeues_lost_jobs(twilio_app, stand_in):
    with twilio_app.app_context():  # rows whose send job was lost (e.g. Redis flushed)
        stuck = OutboundMessage(key="stuck", to_number="+8613700137000", body="卡住的", state="queued",
                                created_at=utcnow() - timedelta(minutes=5))
        stale = OutboundMessage(key="stale", to_number="+8613700137001", body="过期的", state="queued",
                                created_at=utcnow() - timedelta(hours=7))
        fresh = OutboundMessage(key="fresh", to_number="+8613700137002", body="刚排队", state="queued")
        db.session.add_all([stuck, stale, fresh])
        db.session.commit()
        counts = sweep_outbox(db.session)
        db.session.commit()
    twilio_app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert counts == {"expired": 1, "enqueued": 1}
    with twilio_app.app_context():
        states = dict(db.session.execute(select(OutboundMessage.key, OutboundMessage.state)).all())
    assert states == {"stuck": "sent", "stale": "expired", "fresh": "queued"}
    assert [r.form["To"] for r in stand_in.posts] == ["+8613700137000"]


class WorkerKilled(Exception):
    """Stands for SIGKILL between the provider's 201 and our commit."""


def test_worker_killed_after_twilio_accepted_does_not_send_twice(twilio_app, stand_in):
    from sms.providers import get_backend, set_backend
    with twilio_app.app_context():
        real = get_backend()

        class DiesAfterSending:
            name = real.name

            max_batch = 1

            def batch_key(self, message):
                return None

            def validate(self, message):
                pass

            def send(self, message):
                real.send(message)
                raise WorkerKilled()

            def find(self, *args):
                return real.find(*args)

        set_backend(twilio_app, DiesAfterSending())
        message = queue_message(db.session, to=TO, body="崩溃测试", key="crash")
        db.session.commit()
        message_id = message.id
    twilio_app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert len(stand_in.posts) == 1
    assert _get(twilio_app, message_id).state == "sending"  # the outcome was never saved
    set_backend(twilio_app, real)
    with twilio_app.app_context():
        assert send_message_job(message_id) == "sending"  # within the lease: someone may still be on it
        assert send_message_job(message_id, now=utcnow() + timedelta(minutes=5)) == "sent"
    message = _get(twilio_app, message_id)
    assert len(stand_in.posts) == 1, "reconciled, not resent"
    assert message.provider_sid == stand_in.messages[0]["sid"]
    assert any(e["event"] == "reconciled" and e.get("how") == "provider lookup" for e in message.history)
    gets = [r for r in stand_in.requests if r.method == "GET"]
    assert gets and gets[0].query["To"] == TO


def test_network_drop_after_acceptance_is_reconciled_not_resent(twilio_app, stand_in):
    stand_in.script = ["drop"]
    message_id = _queue(twilio_app)
    message = _get(twilio_app, message_id)
    assert message.state == "sending" and message.error_code == "network"
    with twilio_app.app_context():
        assert send_message_job(message_id, now=message.next_attempt_at) == "sent"
    assert len(stand_in.posts) == 1


def test_crash_before_the_provider_saw_it_sends_after_the_lease(twilio_app, stand_in):
    with twilio_app.app_context():
        message = OutboundMessage(key="never-sent", to_number=TO, body="从未发出", state="sending", attempts=1,
                                  sending_at=utcnow() - timedelta(minutes=10))
        db.session.add(message)
        db.session.commit()
        assert send_message_job(message.id) == "sent"
    assert len(stand_in.posts) == 1


def test_messaging_service_instead_of_a_from_number(db_url, tmp_path, stand_in):
    from tests.support.sms_fixtures import _close, build_sms_app
    from sms.providers.twilio.standin import twilio_config
    config = dict(twilio_config(stand_in), TWILIO_FROM_NUMBER=None, PUBLIC_BASE_URL=None,
                  TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32)
    app = build_sms_app(db_url, tmp_path, **config)
    try:
        assert _get(app, _queue(app)).state == "sent"
        [request] = stand_in.posts
        assert set(request.form) == {"To", "Body", "MessagingServiceSid"}  # no callback without a public URL
        assert request.form["MessagingServiceSid"] == "MG" + "1" * 32
    finally:
        _close(app)


def test_sweep_job_wrapper_and_the_lease_of_a_stuck_sending_row(twilio_app, stand_in):
    from sms.sweep import sweep_sms_job
    with twilio_app.app_context():
        stuck = OutboundMessage(key="stuck-sending", to_number=TO, body="卡在发送中", state="sending", attempts=1,
                                sending_at=utcnow() - timedelta(minutes=1))
        db.session.add(stuck)
        db.session.commit()
        stuck_id = stuck.id
        assert sweep_sms_job() == {"expired": 0, "enqueued": 0, "texts_refiled": 0}  # inside its 2-minute lease
        counts = sweep_sms_job(now=(utcnow() + timedelta(minutes=2)).isoformat())
        assert counts == {"expired": 0, "enqueued": 1, "texts_refiled": 0}
    twilio_app.extensions["gridpatrol.runner"].wait(timeout=30)
    message = _get(twilio_app, stuck_id)
    assert message.state == "sent" and len(stand_in.posts) == 1  # the provider had nothing: sent once now


def test_queue_message_and_queue_messages_decide_alike(console_app):
    """One decision and row builder behind both: the same items get the same states and rows either way."""
    from sms.outbox import queue_messages
    items = [{"to": "not a phone", "body": "a", "key": "k1"},
             {"to": "+8613800138001", "body": "b", "key": "k2"},
             {"to": "+8613800138002", "body": "c", "key": "k3"},
             {"to": "+8613800138002", "body": "c", "key": "k4"}]  # same words, same phone: duplicate
    fields = ("key", "to_number", "body", "purpose", "state", "encoding", "segments")
    with console_app.app_context():
        db.session.add(SmsOptOut(phone="+8613800138001", source="keyword", opted_out_at=utcnow()))
        one = [tuple(getattr(m, f) for f in fields) for m in [queue_message(db.session, **i) for i in items]]
        db.session.rollback()
        db.session.add(SmsOptOut(phone="+8613800138001", source="keyword", opted_out_at=utcnow()))
        batch = [tuple(getattr(m, f) for f in fields) for m in queue_messages(db.session, items)]
        db.session.rollback()
    assert one == batch
    assert [row[4] for row in one] == ["invalid_number", "opted_out", "queued", "duplicate"]
