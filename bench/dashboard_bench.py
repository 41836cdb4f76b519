"""Benchmark: server time of every dashboard page on the city-sized dataset, PostgreSQL.

    GRIDPATROL_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/gp_issue_12_bench \
        .venv/bin/python bench/dashboard_bench.py [--grids 20000] [--repeats 20] [--reuse]

The dataset is bench/alerts_bench.py's (20,000 grids, 50,000 members, a week of windows and 285,000 patrols,
100,000 incidents), loaded by its `load` and frozen at its moment (Monday 12:15 Shanghai). Each page is
requested through the Flask app in-process (no network, no browser: the figure is the server's time to
answer) as a sub-district leader and as a global admin, `--repeats` times after one warm-up; p50 and p95
are printed. Goals: every page p95 < 300 ms, the problems list < 100 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.alerts_bench import NOW, load  # noqa: E402

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def build(url: str, grids: int, reuse: bool):
    import psycopg
    os.environ.setdefault("GRIDPATROL_INSTANCE", str(ROOT / "instance-bench"))
    from server import create_app
    from core.domain.catalogue import seed_categories
    from core.db import db
    from core.models import Assignment, Member
    app = create_app({"DATABASE_URL": url, "REDIS_URL": None, "TESTING": True, "LOG_LEVEL": "WARNING",
                      "WORKERS_EMBEDDED_TIMER": False})
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with app.app_context():
        if not reuse:
            with psycopg.connect(plain, autocommit=True) as admin:
                admin.execute("DROP SCHEMA IF EXISTS public CASCADE")
                admin.execute("CREATE SCHEMA public")
            db.engine.dispose()
            db.create_all()
            seed_categories(db.session)
            db.session.commit()
            t0 = time.perf_counter()
            with psycopg.connect(plain) as conn:
                counts = load(conn, grids)
                conn.execute("ANALYZE")
            print(f"loaded {counts} in {time.perf_counter() - t0:.0f} s")
            admin_member = Member(name="管理员", phone="+8617199999999")
            admin_member.assignments.append(Assignment(role="admin", area_id=None, rank=1))
            db.session.add(admin_member)
            db.session.commit()
    return app


def principals(app) -> dict[str, int]:
    from sqlalchemy import select
    from core.db import db
    from core.models import Assignment
    with app.app_context():
        sub = db.session.scalar(select(Assignment.member_id).where(Assignment.role == "subdistrict_leader")
                                .order_by(Assignment.id))
        admin = db.session.scalar(select(Assignment.member_id).where(Assignment.role == "admin",
                                                                     Assignment.area_id.is_(None)))
    return {"sub-district leader": sub, "global admin": admin}


def client_for(app, member_id: int):
    from core.db import db
    from core.models import Member
    from web.dashboard.common import password_fingerprint
    from web.dashboard.sessions import open_session
    client = app.test_client()
    with app.app_context():
        member = db.session.get(Member, member_id)
        fingerprint = password_fingerprint(member)
        key = open_session(db.session, member, app.permanent_session_lifetime)
        db.session.commit()
    with client.session_transaction() as session:
        session.update(sid=key, member_id=member_id, pw=fingerprint, lang="zh", csrf="bench")
    return client


def pages(app, client) -> list[tuple[str, str]]:
    """The URLs to time; the second problems page follows the first page's 下一页 link."""
    import re
    first = client.get("/dashboard/problems").get_data(as_text=True)
    after = re.search(r'id="next-page" href="([^"]+)"', first)
    ticket = re.search(r'/dashboard/problems/(\d+)"', first)
    site = re.search(r'/dashboard/ledger/([0-9a-f-]{36})"', client.get("/dashboard/ledger").get_data(as_text=True))
    out = [("overview", "/dashboard/"), ("overview live", "/dashboard/overview/live"),
           ("problems", "/dashboard/problems"),
           ("problems p2", after.group(1).replace("&amp;", "&") if after else "/dashboard/problems"),
           ("problems overdue", "/dashboard/problems?overdue=1&status=active"),
           ("problems category", "/dashboard/problems?category=1&handling_class=reported"),
           ("problem detail", f"/dashboard/problems/{ticket.group(1)}" if ticket else "/dashboard/problems"),
           ("patrols", "/dashboard/patrols"), ("weekly report", "/dashboard/reports"),
           ("report trend (8 wk)", "/dashboard/reports/trend"),
           ("ledger", "/dashboard/ledger"), ("people", "/dashboard/people"), ("schedules", "/dashboard/schedules"),
           ("messages", "/dashboard/messages")]
    if site:
        out.append(("ledger point", f"/dashboard/ledger/{site.group(1)}"))
    return out


def measure(client, url: str, repeats: int) -> tuple[float, float, int]:
    """One warm-up request (fills the report cache: the first visit of a week not yet stored costs one
    build_report per week, see the cold figures), then `repeats` timed ones."""
    status = client.get(url).status_code  # warm-up
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        status = response.status_code
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database (skip the load)")
    parser.add_argument("--url", default=os.environ.get("GRIDPATROL_BENCH_POSTGRES_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/gp_issue_12_bench"))
    args = parser.parse_args()
    import logging
    import time_machine
    from server.config import normalize_database_url
    app = build(normalize_database_url(args.url), args.grids, args.reuse)
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"\n{'page':<20} {'who':<20} {'p50 ms':>8} {'p95 ms':>8} {'status':>6}")
    with time_machine.travel(NOW, tick=True):  # cold: the weekly report before any week is built or stored
        client = client_for(app, principals(app)["sub-district leader"])
        for name, url in (("weekly report", "/dashboard/reports"), ("report trend (8 wk)", "/dashboard/reports/trend")):
            t = time.perf_counter()
            status = client.get(url).status_code
            print(f"{name + ' cold':<20} {'sub-district leader':<20} {(time.perf_counter() - t) * 1000:>8.1f} "
                  f"{'':>8} {status:>6}")
    with time_machine.travel(NOW, tick=True):
        for who, member_id in principals(app).items():
            client = client_for(app, member_id)
            for name, url in pages(app, client):
                p50, p95, status = measure(client, url, args.repeats)
                print(f"{name:<20} {who:<20} {p50:>8.1f} {p95:>8.1f} {status:>6}", flush=True)
    print("\nShared 2-core machine (other helpers' tests and servers running): figures are noisy upper bounds.")


if __name__ == "__main__":
    main()
