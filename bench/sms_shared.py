"""What the SMS benchmarks share: a seeded database, and a process's CPU read from /proc (what a request
costs in CPU, whatever else the shared machine is doing)."""
from __future__ import annotations

import os
from pathlib import Path

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def seed(database_url: str, instance: Path) -> None:
    from server import create_app
    from core.db import db
    from tests.support.factories import build_world
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "REDIS_URL": None,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        build_world(db.session)
        db.session.commit()
        db.engine.dispose()


def cpu_seconds(pid: int) -> float:
    """User+system CPU of one process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(master_pid: int) -> float:
    """User+system CPU of gunicorn's workers (children of the master), from /proc: what a request
    costs in CPU, whatever else the shared machine is doing."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return float("nan")
    return sum(cpu_seconds(int(pid)) for pid in children)
