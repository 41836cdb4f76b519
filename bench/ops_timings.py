"""How long the operator's one-off jobs take: a fresh migration, the demo load, a large roster import.

    .venv/bin/python bench/ops_timings.py [DATABASE_URL]     (default: a temporary SQLite file)

The database given is emptied first (DROP SCHEMA public on PostgreSQL), so point it at a scratch
database. The roster is 15 communities × 8 grids × (1 组长 + 15 patrollers) = 1,920 rows, written as a
real XLSX file; each step runs once (these are one-off jobs, not hot paths) and prints seconds.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def roster_rows():
    rows, n = [], 0
    for c in range(15):
        for g in range(8):
            rows.append([f"试验社区{c}", f"试验网格{c}-{g}", f"组长{c}-{g}", f"1700300{n:04d}", "组长"])
            n += 1
            for p in range(15):
                rows.append([f"试验社区{c}", f"试验网格{c}-{g}", f"巡查{c}-{g}-{p}", f"1700300{n:04d}", "网格员"])
                n += 1
    return rows


def main() -> None:
    tmp = tempfile.mkdtemp()
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tmp}/bench.db"
    if url.startswith("postgresql"):
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    from server import create_app
    from server.demo import load_demo
    from core.domain.roster import import_roster, resolve_parent
    from core.domain.roster_files import read_roster
    from core.db import db
    from server.migrate import upgrade_database
    from tests.support.roster_helpers import xlsx_bytes

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "REDIS_URL": None, "TESTING": True})
    results = []

    def timed(label, fn):
        start = time.perf_counter()
        value = fn()
        results.append((label, time.perf_counter() - start))
        return value

    timed("db upgrade (empty → heads)", lambda: upgrade_database(app))
    with app.app_context():
        session = db.session
        demo = timed("demo load (13 communities, ~410 people, ~255 devices)",
                     lambda: (load_demo(session), session.commit())[0])
        data = xlsx_bytes(roster_rows())
        parent = resolve_parent(session, "CJ05")
        table = timed("roster read (XLSX, 1,920 rows)", lambda: read_roster(data, "bench.xlsx"))
        report = timed("roster dry run (1,920 rows)",
                       lambda: import_roster(session, table, parent, commit=False, channel="cli"))
        assert report["ok"], report["errors"][:3]
        timed("roster commit (1,920 rows, 15 communities, 120 grids)",
              lambda: (import_roster(session, table, parent, commit=True, channel="cli"), session.commit()))
        db.engine.dispose()
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}  (demo areas: {len(demo['areas'])})")
    for label, seconds in results:
        print(f"  {seconds:6.2f} s  {label}")


if __name__ == "__main__":
    main()
