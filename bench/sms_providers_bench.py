"""Benchmarks for the China providers (run through bench/sms_bench.py --provider android|aliyun).

android: signed `sms:received` webhooks to gridpatrol under gunicorn at a FIXED rate (open loop), the
    office phone played by the local stand-in (sms/providers/android/standin.py) driven by the real
    `android-sms-gateway` client inside gridpatrol. Reports the webhook's p50/p99 and the time from each
    text's arrival until its reply reaches the stand-in phone, and checks every text got exactly one reply.
    With --redis-url the jobs (filing each text, sending each reply) run where production runs them: in
    an RQ worker (`gridpatrol worker --queues sms`); without, in the web processes (embedded).
aliyun: the alert hand-over at the 20,000-grid city's 12:15 peak (2,523 alerts, bench/alerts_bench.py) from
    the outbox to Aliyun's stand-in through the official SDK in SendBatchSms batches: messages/s.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sms_shared import cpu_seconds, process_cpu_seconds, seed  # noqa: E402
PATH = "/sms/android/webhook"
NICE = ["nice", "-n", "10"]  # as the Procfile runs workers: the web answers first, jobs take the rest
TEXTS = ["举报 烧煤 映月路12号", "楼下有人烧垃圾，烟很大", "帮助", "查询 100001", "隔壁在熏腊肉，满楼道都是烟", "你好"]

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(int(len(values) * p), len(values) - 1)] * 1000 if values else float("nan")


def _raw(port: int, body: bytes, headers: dict) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
            f"{head}\r\n").encode() + body


def _send(port: int, payload: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        response = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def _own_redis(url: str):
    """The bench's Redis database must hold nothing but RQ's keys (it is flushed before and after)."""
    from redis import Redis
    connection = Redis.from_url(url)
    foreign = [k for k in connection.scan_iter(count=1000) if not k.startswith(b"rq:")][:3]
    if foreign:
        raise SystemExit(f"{url} holds other keys ({foreign}); give the bench a Redis database of its own")
    connection.flushdb()
    return connection


def bench_android(rate: float, seconds: float, database_url: str | None, workers: int, seed_value: int,
                  redis_url: str | None = None) -> None:
    from sms.providers.android.standin import AndroidPhoneStandIn, android_config, received_payload, signed_webhook
    phone = AndroidPhoneStandIn().start()
    tmp = Path(tempfile.mkdtemp(prefix="sms-android-bench-"))
    database_url = database_url or f"sqlite:///{tmp / 'bench.db'}"
    seed(database_url, tmp)
    port = free_port()
    config = android_config(phone)
    env = dict(os.environ, DATABASE_URL=database_url, GRIDPATROL_INSTANCE=str(tmp), GRIDPATROL_SMS_BACKEND="android",
               ANDROID_SMS_URL=config["ANDROID_SMS_URL"], ANDROID_SMS_USERNAME=config["ANDROID_SMS_USERNAME"],
               ANDROID_SMS_PASSWORD=config["ANDROID_SMS_PASSWORD"],
               ANDROID_SMS_SIGNING_KEY=config["ANDROID_SMS_SIGNING_KEY"], GRIDPATROL_SMS_RATE_LIMIT="1000",
               REDIS_URL=redis_url or "", GRIDPATROL_WORKERS_EMBEDDED_TIMER="false", GRIDPATROL_LOG_LEVEL="WARNING")
    redis = _own_redis(redis_url) if redis_url else None
    command = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
               "warning", "server:create_app({'LOG_LEVEL': 'WARNING'})"]
    rng = random.Random(seed_value)
    total = int(rate * seconds)
    items, senders = [], []
    for i in range(total + 20):
        if i > 20 and rng.random() < 0.05:
            items.append(items[rng.randrange(20, len(items))])  # the phone retrying a delivery
            continue
        sender = f"+86139{i:08d}"
        raw, headers = signed_webhook("sms:received", received_payload(sender, rng.choice(TEXTS)),
                                      event_id=f"bench-{i}")
        items.append((sender, raw, headers))
        senders.append(sender)
    warm, items = items[:20], items[20:]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    job_worker = subprocess.Popen([*NICE, str(ROOT / ".venv/bin/gridpatrol"), "worker", "--queues", "sms"],
                                  cwd=ROOT, env=env) if redis_url else None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not come up")
                time.sleep(0.2)
        for sender, raw, headers in warm:
            _send(port, _raw(port, raw, headers))
        phone.wait_for(len(warm), timeout=20)
        first_seen: dict[str, float] = {}
        latencies, errors, lock = [], {}, threading.Lock()

        def fire(sender, payload, due):
            try:
                status = _send(port, payload)
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                latencies.append(time.perf_counter() - due)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        work = [(sender, _raw(port, raw, headers)) for sender, raw, headers in items]
        cpu_before = process_cpu_seconds(server.pid)
        job_cpu_before = cpu_seconds(job_worker.pid) if job_worker else 0.0
        start = time.perf_counter() + 0.2
        offset = time.monotonic() - time.perf_counter()  # the stand-in stamps arrivals with monotonic()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i, (sender, payload) in enumerate(work):
                due = start + i / rate
                first_seen.setdefault(sender, due + offset)
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(fire, sender, payload, due)
        wall = time.perf_counter() - start
        expected = len(first_seen) + len(warm)
        sent = phone.wait_for(expected, timeout=180)  # the replies may trail the texts: the phone is slower
        cpu_ms = (process_cpu_seconds(server.pid) - cpu_before) * 1000 / max(len(latencies), 1)
        job_cpu_ms = (cpu_seconds(job_worker.pid) - job_cpu_before) * 1000 / max(len(first_seen), 1) \
            if job_worker else None
    finally:
        for process in (server, job_worker):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        phone.stop()
        if redis is not None:
            redis.flushdb()
    replies: dict[str, list[float]] = {}
    for message in sent:
        replies.setdefault(message["to"], []).append(message["at"])
    reply_latency = [min(replies[s]) - first_seen[s] for s in first_seen if s in replies]
    twice = sum(1 for times in replies.values() if len(times) > 1)
    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    jobs = "one RQ worker" if redis_url else "in the web processes (embedded)"
    print(f"sms android bench: {backend}, gunicorn -w {workers}, jobs {jobs}, target {rate:.0f}/s for {seconds:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  webhooks {len(latencies)}  achieved {len(latencies) / wall:.1f}/s  errors {errors or 0}")
    print(f"  webhook ms: p50 {_pct(latencies, .5):.1f}  p90 {_pct(latencies, .9):.1f}  p99 {_pct(latencies, .99):.1f}"
          f"  max {max(latencies) * 1000:.1f}  mean {statistics.mean(latencies) * 1000:.1f}")
    print(f"  reply reaches the phone, ms after the text: p50 {_pct(reply_latency, .5):.1f}  "
          f"p99 {_pct(reply_latency, .99):.1f}  max {max(reply_latency, default=0) * 1000:.1f}")
    print(f"  web CPU per webhook: {cpu_ms:.1f} ms (gunicorn workers; filing and replies run in "
          f"{'the RQ worker' if redis_url else 'them too'})")
    if job_cpu_ms is not None:
        print(f"  RQ worker CPU per text (filed, reply sent): {job_cpu_ms:.1f} ms")
    print(f"  replies {len(reply_latency)} for {len(first_seen)} texts; texts answered twice: {twice} "
          f"(exactly once: {'yes' if twice == 0 and len(reply_latency) == len(first_seen) else 'NO'})")
    print(f"  goal webhook p99 < 50 ms: {'met' if _pct(latencies, .99) < 50 else 'NOT met'}")


def bench_aliyun(count: int, database_url: str | None, batch: int) -> None:
    from server import create_app
    from core.db import db
    from sms.outbox import queue_messages
    from sms.providers.aliyun.standin import AliyunStandIn, aliyun_config
    aliyun = AliyunStandIn().start()
    tmp = Path(tempfile.mkdtemp(prefix="sms-aliyun-bench-"))
    database_url = database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp), "REDIS_URL": None,
                      "LOG_LEVEL": "WARNING", "SMS_ALERTS_BACKEND": "aliyun", "SMS_INPROCESS_RETRY": False,
                      "TESTING": True, **aliyun_config(aliyun)})
    with app.app_context():
        db.drop_all()
        db.create_all()
    items = [{"to": f"+86138{i:08d}", "body": f"G{i:05d} 上午巡查 未巡查", "key": f"bench:{i}", "purpose": "alert",
              "params": {"template": "missed_patrol", "vars": {"grid": f"G{i:05d}", "window": "上午巡查"}}}
             for i in range(count)]
    start = time.perf_counter()
    with app.app_context():
        for offset in range(0, count, batch):  # as workers.jobs.deliver_pending hands them over
            queue_messages(db.session, items[offset:offset + batch])
            db.session.commit()
    queued = time.perf_counter() - start
    app.extensions["gridpatrol.runner"].wait(timeout=600)
    wall = time.perf_counter() - start
    with app.app_context():
        db.engine.dispose()
    aliyun.stop()
    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    handed = sum(aliyun.batch_sizes)
    print(f"sms aliyun bench: {backend}, {count} alerts (the 20,000-grid peak), outbox batches of {batch}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  queued in {queued:.2f} s; all handed to Aliyun in {wall:.2f} s: {handed / wall:.0f} messages/s")
    print(f"  SendBatchSms calls {len(aliyun.batch_sizes)} (max {max(aliyun.batch_sizes)} per call), "
          f"SendSms calls {sum(1 for r in aliyun.requests if r['action'] == 'SendSms')}; "
          f"every alert exactly once: {'yes' if handed == count == len({s['phone'] for s in aliyun.sent}) else 'NO'}")
