"""Latency of the main API calls through the Flask test client, on a sub-district-sized data set.

    .venv/bin/python bench/api_latency.py [DATABASE_URL]     (default: a temporary SQLite file)

Builds 13 communities × 6 grids, 2 patrollers per grid, 2,000 incidents and 1,000 patrols, then times
each call N times and prints the median and 95th percentile in milliseconds. In-process (no network, no
gunicorn): it measures the application and the database, not the HTTP server.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta

N = 40

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def build(session):
    from core.domain.areas import create_area
    from core.domain.catalogue import seed_categories
    from core.domain.incidents import create_incident
    from core.domain.tokens import issue_staff_token
    from core.models import Assignment, Category, Member, Patrol, utcnow
    seed_categories(session)
    district = create_area(session, code="BD", name="基准区", kind="district")
    sub = create_area(session, code="BD01", name="基准街道", kind="subdistrict", parent_id=district.id)
    admin = Member(name="admin", phone="+8617100000000")
    admin.assignments.append(Assignment(role="admin", area_id=None))
    session.add(admin)
    grids, phone = [], 17100000001
    for c in range(1, 14):
        community = create_area(session, code=f"BD01-{c}", name=f"社区{c}", kind="community", parent_id=sub.id)
        leader = Member(name=f"社区长{c}", phone=f"+86{phone}")
        phone += 1
        leader.assignments.append(Assignment(role="community_leader", area_id=community.id))
        session.add(leader)
        for g in range(1, 7):
            grid = create_area(session, code=f"BD01-{c}-{g}", name=f"网格{c}-{g}", kind="grid", parent_id=community.id)
            grids.append(grid)
            for _ in range(2):
                m = Member(name=f"巡查{phone}", phone=f"+86{phone}")
                phone += 1
                m.assignments.append(Assignment(role="patroller", area_id=grid.id))
                session.add(m)
    session.flush()
    categories = list(session.scalars(session.query(Category).statement))
    now = utcnow()
    for i in range(2000):
        create_incident(session, category=categories[i % len(categories)], area=grids[i % len(grids)], channel="cli",
                        source="staff", handling_class=("immediate", "reported")[i % 2], now=now - timedelta(hours=i))
    patrollers = list(session.scalars(session.query(Member).filter(Member.name.like("巡查%")).statement))
    for i in range(1000):
        session.add(Patrol(member=patrollers[i % len(patrollers)], area=grids[i % len(grids)],
                           started_at=now - timedelta(hours=i), source="device"))
    _, admin_token = issue_staff_token(session, admin)
    community_leader = session.scalar(session.query(Member).filter_by(name="社区长3").statement)
    _, leader_token = issue_staff_token(session, community_leader)
    session.commit()
    return admin_token, leader_token


def timed(call) -> tuple[float, float]:
    samples = []
    for _ in range(N):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, response.get_json()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    from server import create_app
    from core.db import db
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(), "REDIS_URL": None})
    with app.app_context():
        db.drop_all()
        db.create_all()
        admin_token, leader_token = build(db.session)
    client = app.test_client()
    admin = {"Authorization": f"Bearer {admin_token}"}
    leader = {"Authorization": f"Bearer {leader_token}"}
    tickets = iter(range(100001, 102001))
    calls = {
        "GET /incidents (admin, 50 of 2000)": lambda: client.get("/api/v1/incidents", headers=admin),
        "GET /incidents?overdue=true&within=BD01-3":
            lambda: client.get("/api/v1/incidents?overdue=true&within=BD01-3", headers=admin),
        "GET /incidents (community leader)": lambda: client.get("/api/v1/incidents", headers=leader),
        "GET /incidents/<ticket> (with history)": lambda: client.get("/api/v1/incidents/100500", headers=admin),
        "POST /incidents":
            lambda: client.post("/api/v1/incidents", json={"category": 5, "area": "BD01-3-2"}, headers=admin),
        "POST /incidents/<t>/escalate":
            lambda: client.post(f"/api/v1/incidents/{next(tickets)}/escalate", json={}, headers=admin),
        "GET /members (50 of 170)": lambda: client.get("/api/v1/members", headers=admin),
        "GET /areas?within=BD01 (per_page 100)":
            lambda: client.get("/api/v1/areas?within=BD01&per_page=100", headers=admin),
        "GET /patrols (50 of 1000)": lambda: client.get("/api/v1/patrols", headers=admin),
    }
    print(f"backend: {url.split(':')[0]}  ({N} calls each)")
    for name, call in calls.items():
        median, p95 = timed(call)
        print(f"  {name:45s} median {median:6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
