"""The office phone against the processes an office runs: gunicorn answering the phone's webhooks, an RQ
worker (`gridpatrol worker`) filing the texts and sending the replies through the real
`android-sms-gateway` client to the stand-in phone, on PostgreSQL and Redis. Each text is answered exactly
once, whatever the phone retries."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import func, select

from core.db import db
from sms.models import InboundMessage, OutboundMessage, SmsWebhookEvent
from tests.support.plain_install import free_port
from tests.support.sms_fixtures import _close, build_sms_app, sms_world
from sms.providers.android.standin import android_config, received_payload, signed_webhook

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow_start  # gunicorn and an RQ worker, started and stopped

RESIDENTS = ["+8613912345671", "+8613912345672", "+8613912345673"]


def _post(base: str, raw: bytes, headers: dict) -> dict:
    request = Request(base + "/sms/android/webhook", data=raw, headers=headers, method="POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            with urlopen(base + "/healthz", timeout=2):
                return
        except (URLError, OSError):
            time.sleep(0.2)
    raise AssertionError("gunicorn did not come up")


def test_texts_to_the_office_phone_are_filed_by_the_worker_and_answered_once(postgres_url, redis_url, tmp_path,
                                                                             phone):
    from redis import Redis
    from rq import Queue
    Queue("sms", connection=Redis.from_url(redis_url)).empty()
    app = build_sms_app(postgres_url, tmp_path, **android_config(phone))
    sms_world(app)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "GRIDPATROL_INSTANCE": str(tmp_path),
           "GRIDPATROL_SMS_BACKEND": "android", "GRIDPATROL_WORKERS_EMBEDDED_TIMER": "false",
           "GRIDPATROL_LOG_LEVEL": "WARNING",
           **{k: str(v) for k, v in android_config(phone).items() if k.startswith("ANDROID_")}}
    web = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "server:create_app()"],
                           env=env)
    try:
        _wait_up(base, web)
        texts = ["楼下有人烧垃圾，烟很大", "帮助", "查询 100001"]
        deliveries = [signed_webhook("sms:received", received_payload(r, t), event_id=f"evt-{n}")
                      for n, (r, t) in enumerate(zip(RESIDENTS, texts))]
        answers = [_post(base, raw, headers)["status"] for raw, headers in deliveries]
        assert answers == ["accepted"] * 3
        assert _post(base, *deliveries[0])["status"] == "duplicate"  # the phone retries a delivery
        again = json.loads(deliveries[1][0])  # the same text delivered again under a new event id
        again["id"] = "evt-again"
        assert _post(base, *signed_webhook("", {}, raw=json.dumps(again, ensure_ascii=False).encode()))["status"] \
            == "accepted"
        assert phone.sent == []  # nothing is filed or answered by the web process itself
        worker = subprocess.run([str(BIN / "gridpatrol"), "worker", "--burst", "--queues", "sms"],
                                env=env, capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr[-2000:]
    finally:
        web.terminate()
        web.wait(timeout=30)
    sent = phone.wait_for(3, timeout=10)
    assert sorted(m["to"] for m in sent) == RESIDENTS
    assert len(phone.wait_for(4, timeout=0.5)) == 3  # exactly once each
    by_to = {m["to"]: m["text"] for m in sent}
    assert by_to[RESIDENTS[0]].startswith("已受理，工单号100001")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 3
        events = db.session.scalars(select(SmsWebhookEvent)).all()
        assert len(events) == 4 and all(e.inbound_id for e in events)
        replies = db.session.scalars(select(OutboundMessage)).all()
        assert sorted(r.state for r in replies) == ["sent"] * 3 and {r.provider for r in replies} == {"android"}
    _close(app)
