"""CPU per inbound text, in process (no HTTP, no gunicorn): what each kind of text costs the gateway.

    .venv/bin/python bench/sms_inprocess.py [--count 200]

Runs sms.inbound.receive (one transaction per text, committed) on a fresh SQLite file seeded with the test
hierarchy, for each kind of text in the webhook benchmark's mix, and prints the median CPU time (process
time, so other processes on a shared machine disturb it far less than wall-clock figures). jieba's one-off
dictionary load happens before timing. Use it to compare two branches on the same machine at the same time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = {
    "resident report": ["举报 烧煤 映月路12号", "楼下有人烧垃圾，烟很大", "舉報 燒煤 白馬路５號",
                        "隔壁在熏腊肉，满楼道都是烟"],
    "query": ["查询 100001", "查询 100002"],
    "patrol check-in": ["巡查 HD03-1-1 正常", "XC HD03-1-1 2个问题"],
    "help": ["帮助", "HELP", "?"],
    "junk": ["你好", "！！！", "xc", "发现 HD99 外星人"],
}
SENDERS = {"patrol check-in": "+8617000000007"}

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--count", type=int, default=200)
    opts = args.parse_args()
    from server import create_app
    from core.db import db
    from sms.inbound import receive
    from tests.support.factories import build_world
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "INSTANCE_PATH": tmp, "REDIS_URL": None,
                          "LOG_LEVEL": "WARNING", "SMS_RATE_LIMIT_PER_HOUR": 0, "WORKERS_EMBEDDED_TIMER": False})
        with app.app_context():
            db.create_all()
            build_world(db.session)
            db.session.commit()
            config = dict(app.config)
            n = 0

            def one(kind: str, body: str) -> float:
                nonlocal n
                n += 1
                sender = SENDERS.get(kind, f"+86139{n:08d}")
                start = time.process_time()
                receive(db.session, message_sid=f"SM{n:032x}", sender=sender, body=body, config=config)
                db.session.commit()
                return (time.process_time() - start) * 1000
            for kind, bodies in KINDS.items():  # warm every path (and jieba) before timing
                for body in bodies:
                    one(kind, body)
            print(f"in-process CPU per text (median of {opts.count}), SQLite:")
            for kind, bodies in KINDS.items():
                times = [one(kind, bodies[i % len(bodies)]) for i in range(opts.count)]
                print(f"  {kind:16s} {statistics.median(times):6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
