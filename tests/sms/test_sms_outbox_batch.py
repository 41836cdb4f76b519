"""queue_messages (the batch hand-over the workers use at a peak) keeps every rule of queue_message."""
from sqlalchemy import func, select
import pytest

from sms.models import OutboundMessage
from sms.outbox import opt_out, queue_message, queue_messages

pytestmark = pytest.mark.both_databases  # batched claims with row locks, per dialect


def _item(key, to="+8617000000005", body="HD03-1-1 网格 08:00-12:00 未巡查。回复“收到”确认。"):
    return {"to": to, "body": body, "key": key, "purpose": "alert", "member_id": None, "area_id": None}


def test_batch_applies_known_keys_opt_outs_invalid_numbers_and_duplicates(app, session):
    first = queue_message(session, to="+8617000000005", body="earlier", key="k-known")
    opt_out(session, "+8617000000009")
    session.commit()
    # let "k-known" be sent first: a send job that finds its row locked by the batch below skips it for the
    # sweeper, which this test does not run
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    rows = queue_messages(session, [
        _item("k-known"),                                   # already in the outbox: returned, not re-queued
        _item("k-new"),                                     # queued
        _item("k-twin", body=_item("x")["body"]),           # same words, same phone, other key: duplicate
        _item("k-opted", to="+8617000000009"),              # opted out: stored, never sent
        _item("k-bad", to="not a phone"),                   # invalid number: stored for a person to fix
        _item("k-new"),                                     # the same key twice in one batch: one row
    ])
    # read before the commit: once committed, the in-process runner may already be sending "k-new"
    states = [r.state for r in rows[1:]]
    session.commit()
    assert rows[0].id == first.id and rows[0].body == "earlier"
    assert states == ["queued", "duplicate", "opted_out", "invalid_number", "queued"]
    assert rows[1] is rows[5]
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 5
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    session.expire_all()
    sent = session.scalars(select(OutboundMessage).where(OutboundMessage.state == "sent")).all()
    assert sorted(m.key for m in sent) == ["k-known", "k-new"]  # one send each; the rest deliberately not sent


def test_batch_rerun_is_idempotent(app, session):
    items = [_item(f"k{i}", to=f"+861700000{i:04d}", body=f"alert {i}") for i in range(5)]
    first = queue_messages(session, items)
    session.commit()
    again = queue_messages(session, items)
    session.commit()
    assert [m.id for m in first] == [m.id for m in again]
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 5
