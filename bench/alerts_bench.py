"""Benchmark: one missed-patrol scan and one overdue scan on a city-sized roster, PostgreSQL.

    GRIDPATROL_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/gp_workers_bench \
        .venv/bin/python bench/alerts_bench.py [--sizes 2000,5000,10000,20000]

For each size N (grids): N/10 communities, N/300 sub-districts, 50,000 × N/20,000 members (a leader per
area, the rest patrollers), one week of patrols (2 windows a day, 95 % patrolled) and 100,000 × N/20,000
incidents over 30 days, bulk-loaded with COPY. The database is then put in the state a running system
has at 12:15 on a Monday: the week's earlier windows settled, today's morning windows open and due, old
overdue incidents already tracked. It times:
  - the missed-patrol scan at 12:15 (every grid's morning window is due: the worst moment of the day),
  - the overdue scan at the same moment (deadlines of the last 5 minutes + graces that ran out),
  - the hourly window planning (not a scan; walks every grid).
  - the hand-over of the scan's alerts to the SMS outbox (sms.outbox.queue_message, one row per alert),
    which the scan leaves to a deliver job; the SMS sends themselves are the SMS bench's subject.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 12, 15, tzinfo=SHANGHAI).astimezone(timezone.utc)  # Monday 12:15 local
TODAY = date(2026, 11, 23)

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).astimezone(timezone.utc)


def load(conn, grids: int, seed: int = 7) -> dict:
    """Bulk-load the roster, a week of windows and patrols, and the incidents. Returns counts."""
    rng = random.Random(seed)
    scale = grids / 20000
    stamp = NOW - timedelta(days=40)
    cur = conn.cursor()
    counts = {}
    # Areas: district 1, sub-districts, communities, grids (explicit ids so paths are known up front).
    n_sub, n_comm = max(1, grids // 300), max(1, grids // 10)
    areas, next_id = [], 1
    areas.append((1, "BJ", "城区", "district", None, "/1/", 0))
    subs = list(range(2, 2 + n_sub))
    for i, sid in enumerate(subs):
        areas.append((sid, f"S{i:03d}", f"街道{i}", "subdistrict", 1, f"/1/{sid}/", 1))
    comms = list(range(2 + n_sub, 2 + n_sub + n_comm))
    comm_path = {}
    for i, cid in enumerate(comms):
        sid = subs[i % n_sub]
        comm_path[cid] = f"/1/{sid}/{cid}/"
        areas.append((cid, f"C{i:05d}", f"社区{i}", "community", sid, comm_path[cid], 2))
    first_grid = 2 + n_sub + n_comm
    grid_ids = list(range(first_grid, first_grid + grids))
    grid_comm = {}
    for i, gid in enumerate(grid_ids):
        cid = comms[i % n_comm]
        grid_comm[gid] = cid
        areas.append((gid, f"G{i:06d}", f"网格{i}", "grid", cid, f"{comm_path[cid]}{gid}/", 3))
    next_id = first_grid + grids
    counts["areas"] = _copy(cur, "areas", ["id", "code", "name", "kind", "parent_id", "path", "depth",
                                           "created_at", "updated_at", "field_clocks"],
                            (a + (stamp, stamp, "{}") for a in areas))
    cur.execute(f"SELECT setval('areas_id_seq', {next_id})")
    # Members: a leader per grid, community and sub-district; the rest patrollers (spread over grids).
    total_members = int(50000 * scale)
    leaders = [(aid, role) for aid, role in [(s, "subdistrict_leader") for s in subs]
               + [(c, "community_leader") for c in comms] + [(g, "grid_leader") for g in grid_ids]]
    members, assignments = [], []
    for mid in range(1, total_members + 1):
        members.append((mid, f"成员{mid}", f"+86171{mid:08d}", "zh", True, stamp, stamp, "{}"))
        if mid <= len(leaders):
            area_id, role = leaders[mid - 1]
        else:
            area_id, role = grid_ids[(mid - len(leaders)) % grids], "patroller"
        assignments.append((mid, mid, area_id, role, 1, stamp, stamp))
    counts["members"] = _copy(cur, "members", ["id", "name", "phone", "locale", "active", "created_at",
                                               "updated_at", "field_clocks"], members)
    _copy(cur, "assignments", ["id", "member_id", "area_id", "role", "rank", "created_at", "updated_at"], assignments)
    cur.execute(f"SELECT setval('members_id_seq', {total_members + 1})")
    cur.execute(f"SELECT setval('assignments_id_seq', {total_members + 1})")
    patroller_of = {}
    for mid, _, area_id, role, *_ in assignments:
        if role == "patroller":
            patroller_of.setdefault(area_id, mid)
    leader_of = {a[2]: a[1] for a in assignments if a[3] == "grid_leader"}
    # Schedules: the default windows on every sub-district.
    _copy(cur, "patrol_schedules", ["area_id", "name", "windows", "heightened", "key_sites", "created_at",
                                    "updated_at", "field_clocks"],
          ((s, "日常巡查", json.dumps([{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}]),
            "[]", "[]", stamp, stamp, "{}") for s in subs))
    # A week of windows (settled) and patrols; today's morning windows open and due at 12:15.
    windows, patrols = [], []
    grace = timedelta(minutes=15)
    for offset in range(-7, 1):
        day = TODAY + timedelta(days=offset)
        for start, end, label in ((8, 12, "08:00-12:00"), (14, 18, "14:00-18:00")):
            s, e = _local(day, start), _local(day, end)
            if offset == 0 and start == 14:
                continue  # this afternoon: planned below by the planner itself
            for gid in grid_ids:
                patrolled = rng.random() < 0.95
                if patrolled:
                    pid = str(uuid.uuid4())
                    p_start = s + timedelta(minutes=rng.randrange(0, 200))
                    patrols.append((pid, patroller_of.get(gid) or leader_of[gid], gid, p_start,
                                    p_start + timedelta(minutes=30), "[]", "all_clear", 0, "device", "",
                                    p_start, p_start, "{}"))
                if offset == 0:
                    windows.append((gid, s, e, day, label, "daily", "", "", "open", e + grace, None))
                else:
                    windows.append((gid, s, e, day, label, "daily", "", "", "patrolled" if patrolled else "escalated",
                                    None, pid if patrolled else None))
    counts["patrols"] = _copy(cur, "patrols", ["id", "member_id", "area_id", "started_at", "ended_at", "checkpoints",
                                               "outcome", "problem_count", "source", "notes", "created_at",
                                               "updated_at", "field_clocks"], patrols)
    counts["windows"] = _copy(cur, "worker_patrol_windows", ["area_id", "starts_at", "ends_at", "local_date", "label",
                                                             "kind", "heightened", "site", "state", "next_check_at",
                                                             "patrol_id"], windows)
    # Incidents over 30 days; 15 % still open. Open ones whose deadline passed > 5 min ago are tracked already.
    cur.execute("SELECT id, code FROM categories ORDER BY id")
    categories = [row[0] for row in cur.fetchall()]
    incidents, track_rows = [], []
    n_inc = int(100000 * scale)
    for k in range(n_inc):
        gid = grid_ids[rng.randrange(grids)]
        reported = NOW - timedelta(minutes=rng.randrange(5, 30 * 24 * 60))
        handling = rng.choice(("immediate", "reported", "reported", "committed"))
        responsible = grid_comm[gid] if handling == "reported" else gid
        level = "community" if handling == "reported" else "grid"
        deadline = reported + timedelta(hours=24 if handling != "committed" else 72)
        open_ = rng.random() < 0.15
        status = rng.choice(("open", "in_progress")) if open_ else rng.choice(("resolved", "closed"))
        resolved_at = None if open_ else reported + timedelta(hours=rng.randrange(1, 30))
        iid = str(uuid.uuid4())
        incidents.append((iid, str(200001 + k), categories[k % len(categories)], gid, responsible, level, "",
                          "", "patrol" if k % 3 else "resident_sms", handling, status, deadline, 0, False,
                          None, resolved_at, reported, reported, reported, "{}"))
        if open_ and deadline <= NOW - timedelta(minutes=5):
            stage = "alerted" if deadline > NOW - timedelta(hours=2, minutes=5) else "digest"
            track_rows.append((iid, deadline, responsible, level, stage,
                               deadline + timedelta(hours=2) if stage == "alerted" else None, deadline))
    counts["incidents"] = _copy(cur, "incidents", [
        "id", "ticket", "category_id", "area_id", "responsible_area_id", "responsible_level", "location_text",
        "description", "source", "handling_class", "status", "deadline", "escalation_count", "flagged",
        "acknowledged_at", "resolved_at", "reported_at", "created_at", "updated_at", "field_clocks"], incidents)
    counts["tracks"] = _copy(cur, "worker_overdue_tracks", ["incident_id", "deadline", "area_id", "level", "stage",
                                                            "next_check_at", "created_at"], track_rows)
    conn.commit()
    conn.autocommit = True
    cur.execute("VACUUM ANALYZE")
    cur.execute("CHECKPOINT")  # the load's WAL flush must not land in the timed scans
    return counts


REPEATS = 3


def _reset_morning(plain_url: str) -> None:
    """Put today's morning windows back to open and forget the alerts, so the scan can be timed again."""
    import psycopg
    with psycopg.connect(plain_url, autocommit=True) as conn:
        conn.execute("DELETE FROM worker_alerts")
        conn.execute("DELETE FROM sms_outbound")
        conn.execute("UPDATE worker_patrol_windows SET state = 'open', patrol_id = NULL, missed_at = NULL, "
                     "escalated_at = NULL, next_check_at = ends_at + interval '15 minutes' "
                     "WHERE local_date = %s AND label = '08:00-12:00'", (TODAY,))
        conn.execute("VACUUM ANALYZE worker_patrol_windows")
        conn.execute("VACUUM ANALYZE worker_alerts")


def run(url: str, sizes: list[int]) -> list[dict]:
    import psycopg
    os.environ.setdefault("GRIDPATROL_INSTANCE", str(ROOT / "instance-bench"))
    from server import create_app
    from core.domain.catalogue import seed_categories
    from core.db import db
    from core.jobs.context import job_session
    from core.domain.overdue import scan_overdue
    from core.domain.patrol_windows import plan_windows
    from core.domain.missed_patrols import scan_missed_patrols
    import logging
    app = create_app({"DATABASE_URL": url, "REDIS_URL": None, "TESTING": True, "LOG_LEVEL": "WARNING"})
    from core.jobs.runner import JobRunner

    class Collecting(JobRunner):
        """Jobs (deliver, SMS sends) are counted, not run: the bench times each step itself."""
        name = "bench"

        def __init__(self):
            self.jobs = []

        def enqueue(self, func, *args, **kwargs):
            self.jobs.append(func)
    app.extensions["gridpatrol.runner"] = Collecting()
    from workers.jobs import deliver_pending
    logging.getLogger().setLevel(logging.WARNING)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    results = []
    for grids in sizes:
        with app.app_context():
            with psycopg.connect(plain, autocommit=True) as admin:
                admin.execute("DROP SCHEMA IF EXISTS public CASCADE")
                admin.execute("CREATE SCHEMA public")
            db.engine.dispose()
            db.create_all()
            with job_session() as session:
                seed_categories(session)
            t0 = time.perf_counter()
            with psycopg.connect(plain) as conn:
                counts = load(conn, grids)
            load_s = time.perf_counter() - t0
            timings = {}
            runs = []
            for attempt in range(REPEATS):  # the same 12:15 scan, state reset in between; median reported
                if attempt:
                    _reset_morning(plain)
                with job_session() as session:
                    t = time.perf_counter()
                    missed = scan_missed_patrols(session, NOW)
                    runs.append(time.perf_counter() - t)
            timings["missed_scan_s"] = sorted(runs)[len(runs) // 2]
            timings["missed_scan_min_s"] = min(runs)
            with job_session() as session:  # the deliver job the scan enqueued: alerts → SMS outbox rows
                t = time.perf_counter()
                delivered = deliver_pending(session, NOW)
                timings["deliver_s"] = time.perf_counter() - t
            with job_session() as session:
                t = time.perf_counter()
                overdue = scan_overdue(session, NOW)
                timings["overdue_scan_s"] = time.perf_counter() - t
            with job_session() as session:  # the next scans 5 minutes later: (almost) nothing new is due
                t = time.perf_counter()
                quiet = scan_missed_patrols(session, NOW + timedelta(minutes=5))
                timings["next_missed_s"] = time.perf_counter() - t
                t = time.perf_counter()
                quiet_overdue = scan_overdue(session, NOW + timedelta(minutes=5))
                timings["next_overdue_s"] = time.perf_counter() - t
            with job_session() as session:
                t = time.perf_counter()
                planned = plan_windows(session, NOW)
                timings["plan_s"] = time.perf_counter() - t
        row = {"grids": grids, **counts, "load_s": round(load_s, 1), "missed_scan_runs": [round(r, 3) for r in runs],
               **{k: round(v, 3) for k, v in timings.items()},
               "due_windows": missed["checked"], "missed": missed["missed"], "missed_alerts": missed["alerts"],
               "delivered": delivered["delivered"],
               "overdue_new": overdue["overdue"], "overdue_escalated": overdue["escalated"],
               "overdue_digest": overdue["digest"], "overdue_alerts": overdue["alerts"],
               "next_scan_due": quiet["checked"] + quiet_overdue["overdue"], "planned": planned["planned"]}
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,10000,20000")
    parser.add_argument("--repeats", type=int, default=3, help="missed-patrol scan timings per size (median)")
    parser.add_argument("--url", default=os.environ.get("GRIDPATROL_BENCH_POSTGRES_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/gp_workers_bench"))
    args = parser.parse_args()
    from server.config import normalize_database_url
    global REPEATS
    REPEATS = max(1, args.repeats)
    results = run(normalize_database_url(args.url), [int(s) for s in args.sizes.split(",")])
    print()
    print(f"{'grids':>7} {'due win':>8} {'missed':>7} {'alerts':>7} {'missed scan s':>14} {'(min)':>6} {'outbox s':>9} "
          f"{'overdue due':>12} "
          f"{'overdue scan s':>15} {'next missed s':>14} {'next overdue s':>15} {'plan s':>7}")
    for r in results:
        print(f"{r['grids']:>7} {r['due_windows']:>8} {r['missed']:>7} {r['missed_alerts']:>7} "
              f"{r['missed_scan_s']:>14.3f} {r['missed_scan_min_s']:>6.3f} {r['deliver_s']:>9.3f} "
              f"{r['overdue_new'] + r['overdue_escalated'] + r['overdue_digest']:>12} "
              f"{r['overdue_scan_s']:>15.3f} {r['next_missed_s']:>14.3f} {r['next_overdue_s']:>15.3f} "
              f"{r['plan_s']:>7.2f}")
    print("\nShared 2-core machine (other helpers' tests and servers running): figures are noisy upper bounds.")


if __name__ == "__main__":
    main()
