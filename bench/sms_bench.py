"""Benchmark: signed Twilio inbound webhooks against gridpatrol under gunicorn, at a fixed arrival rate.

    .venv/bin/python bench/sms_bench.py --rate 100 --seconds 20 [--database-url postgresql://...] [--port 8450]

Seeds a fresh database with the test hierarchy, starts gunicorn on 127.0.0.1 (2 workers), then sends
webhook requests signed with Twilio's RequestValidator at a FIXED rate (open loop: a request's latency is
measured from when it was due, so a stalled server cannot hide its queueing). The mix is realistic: new
resident reports (each creates an incident), ticket queries, patrol check-ins, help, unparseable text,
and ~5 % Twilio retries of an earlier MessageSid. Prints requests/s achieved and p50/p90/p99/max latency;
the goal is p99 < 50 ms at 100/s. Bounded: at most --seconds (≤ 120) and rate × seconds requests.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The server under test runs no periodic jobs: a benchmark measures requests, not background scans.
os.environ.setdefault("GRIDPATROL_WORKERS_EMBEDDED_TIMER", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sms_providers_bench import bench_aliyun, bench_android  # noqa: E402
from bench.sms_shared import process_cpu_seconds, seed  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
BASE = "https://gridpatrol.bench.example"
PATH = "/sms/twilio/inbound"

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _send(port, "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def make_requests(count: int, rng: random.Random, sid_prefix: str = "SM") -> list[dict]:
    from twilio.request_validator import RequestValidator
    validator = RequestValidator(TOKEN)
    bodies = []
    sent: list[dict] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.05 and sent:
            bodies.append(rng.choice(sent))  # Twilio retrying a webhook: same MessageSid, same signature
            continue
        if roll < 0.40:
            sender, body = f"+86139{rng.randrange(10**8):08d}", rng.choice(
                ["举报 烧煤 映月路12号", "楼下有人烧垃圾，烟很大", "舉報 燒煤 白馬路５號", "JB 6 fireworks at gate 2",
                 "隔壁在熏腊肉，满楼道都是烟"])
        elif roll < 0.60:
            sender, body = f"+86139{rng.randrange(10**8):08d}", f"查询 {100001 + rng.randrange(max(i // 3, 1))}"
        elif roll < 0.80:
            sender, body = "+8617000000007", rng.choice(["巡查 HD03-1-1 正常", "XC HD03-1-1 2个问题", "P HD03-1-1 OK"])
        elif roll < 0.90:
            sender, body = f"+86139{rng.randrange(10**8):08d}", rng.choice(["帮助", "HELP", "?"])
        else:
            sender, body = f"+86139{rng.randrange(10**8):08d}", rng.choice(["你好", "！！！", "xc", "发现 HD99 外星人"])
        sid = f"{sid_prefix}{i:032x}"
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
                  "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1"}
        item = {"params": params, "signature": validator.compute_signature(BASE + PATH, params)}
        bodies.append(item)
        sent.append(item)
    return bodies


def _raw_request(port: int, item: dict) -> bytes:
    """The whole HTTP request, built before the clock starts: the load generator must cost next to
    nothing, or on a busy 2-core machine it measures itself."""
    from urllib.parse import urlencode
    body = urlencode(item["params"]).encode()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {item['signature']}\r\n\r\n")
    return head.encode() + body


def _send(port: int, payload: bytes) -> tuple[int, bytes]:
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
    return status, response.partition(b"\r\n\r\n")[2]


def run_load(port: int, rate: float, seconds: float, rng: random.Random, sid_prefix: str = "SM") -> dict:
    total = int(rate * seconds)
    items = make_requests(total, rng, sid_prefix)
    work = [_raw_request(port, item) for item in items]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def fire(payload, due):
        try:
            status, body = _send(port, payload)
            ok = status == 200 and body.startswith(b"<?xml")
        except OSError as exc:
            status, ok = type(exc).__name__, False
        elapsed = time.perf_counter() - due
        with lock:
            latencies.append(elapsed)
            if not ok:
                errors[str(status)] = errors.get(str(status), 0) + 1

    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i, payload in enumerate(work):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(fire, payload, due)
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(p):
        return latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000

    return {"requests": len(latencies), "wall_s": wall, "rps": len(latencies) / wall, "p50_ms": pct(0.50),
            "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000,
            "mean_ms": statistics.mean(latencies) * 1000, "errors": errors,
            "sids": {item["params"]["MessageSid"] for item in items}}


def count_inbound(database_url: str, instance: Path) -> int:
    from sqlalchemy import func, select
    from server import create_app
    from core.db import db
    from sms.models import InboundMessage
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "REDIS_URL": None,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(InboundMessage))
        db.engine.dispose()
    return count


def access_log_options() -> list[str]:
    """SMS_BENCH_ACCESS_LOG=<file> also writes each request's server-side time (µs) there."""
    path = os.environ.get("SMS_BENCH_ACCESS_LOG")
    return ["--access-logfile", path, "--access-logformat", "%(D)s"] if path else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=8450)
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn sync workers (2: one per core; more only adds SQLite lock waits)")
    parser.add_argument("--threads", type=int, default=1, help=">1 uses gunicorn's gthread worker")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file (embedded mode)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--provider", choices=["twilio", "android", "aliyun"], default="twilio",
                        help="android: signed sms:received webhooks, replies to the stand-in phone; aliyun: the "
                             "20,000-grid peak's alerts handed to Aliyun's stand-in (bench/sms_providers_bench.py)")
    parser.add_argument("--alerts", type=int, default=2523, help="aliyun: alerts at the peak (alerts_bench.py)")
    parser.add_argument("--redis-url", default=None,
                        help="android: run the jobs in an RQ worker on this Redis database (flushed; RQ keys only)")
    args = parser.parse_args()
    if args.provider != "twilio":
        if args.provider == "android":
            bench_android(args.rate, min(args.seconds, 120.0), args.database_url, args.workers, args.seed,
                          args.redis_url)
        else:
            bench_aliyun(args.alerts, args.database_url, 500)
        return
    if not 8400 <= args.port <= 8499:
        raise SystemExit("use a port in 8400-8499")
    seconds = min(args.seconds, 120.0)
    tmp = Path(tempfile.mkdtemp(prefix="sms-bench-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    seed(database_url, tmp)
    env = dict(os.environ, DATABASE_URL=database_url, GRIDPATROL_INSTANCE=str(tmp),
               GRIDPATROL_SMS_BACKEND="console", TWILIO_AUTH_TOKEN=TOKEN, GRIDPATROL_PUBLIC_BASE_URL=BASE,
               GRIDPATROL_SMS_RATE_LIMIT="1000", REDIS_URL="")
    command = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}",
               *(["-k", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []),
               "--log-level", "warning", *access_log_options(), "server:create_app({'LOG_LEVEL': 'WARNING'})"]
    load_before = os.getloadavg()
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_ready(args.port)
        # Warm-up, not counted: each worker loads its app lazily (imports, opencc dictionaries, caches).
        warm = run_load(args.port, min(args.rate, 50.0), 2.0, random.Random(args.seed + 1), sid_prefix="SW")
        cpu_before = process_cpu_seconds(server.pid)
        result = run_load(args.port, args.rate, seconds, random.Random(args.seed))
        cpu_ms = (process_cpu_seconds(server.pid) - cpu_before) * 1000 / max(result["requests"], 1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    stored = count_inbound(database_url, tmp)
    expected = len(warm["sids"] | result["sids"])
    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    load = os.getloadavg()
    print(f"sms webhook bench: {backend}, gunicorn -w {args.workers} --threads {args.threads}, "
          f"target {args.rate:.0f}/s for {seconds:.0f} s; load average before/after run "
          f"{load_before[0]:.1f}/{load[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  requests {result['requests']}  achieved {result['rps']:.1f}/s  errors {result['errors'] or 0}")
    print(f"  latency ms: p50 {result['p50_ms']:.1f}  p90 {result['p90_ms']:.1f}  p99 {result['p99_ms']:.1f}"
          f"  max {result['max_ms']:.1f}  mean {result['mean_ms']:.1f}")
    print(f"  server CPU per request: {cpu_ms:.1f} ms (gunicorn workers' user+system time / requests)")
    print(f"  inbound rows stored {stored} for {expected} distinct MessageSids (retries processed once: "
          f"{'yes' if stored == expected else 'NO'})")
    print(f"  goal p99 < 50 ms: {'met' if result['p99_ms'] < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
