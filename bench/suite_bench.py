"""What the test suite costs: a test's database set-up, old shape against new, and the README's test command
run from a fresh clone.

    .venv/bin/python bench/suite_bench.py setup --postgres-url postgresql://postgres@127.0.0.1:5432/gp_suite_bench
    .venv/bin/python bench/suite_bench.py run --label after

`setup` times, per database, what each database test paid before (a new app, then a TRUNCATE of every table on
PostgreSQL or `create_all` on a new SQLite file) against what it pays now (the process's app, emptied after a
test's worth of rows: tests/support/databases.py), median of --rounds.

`run` clones the committed HEAD into a temporary folder and runs `nice -n 5 ./scripts/test` there with CI=true
(the venv and packages are set up from scratch, from pip's cache), then prints the wall time, the CPU time of
the whole process tree (pytest, its workers, browsers, gunicorn and RQ workers; not the PostgreSQL and Redis
servers) and pytest's summary line. The test databases come from the environment as for ./scripts/test.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def bench_setup(postgres_url: str, rounds: int) -> dict:
    # local: the benchmark's heavy imports load only for the sub-command that needs them
    import psycopg
    from sqlalchemy import text
    from server import create_app
    from core.db import db
    from tests.support.databases import empty_database
    from tests.support.factories import build_world
    from tests.support.postgres import fresh_postgres_schema, without_commit_flush

    fresh_postgres_schema(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        without_commit_flush(conn, postgres_url)  # as the suite's own databases
    scratch = Path(tempfile.mkdtemp(prefix="gp-suite-bench-"))
    results = {}
    try:
        for name, url in (("sqlite", f"sqlite:///{scratch / 'shared.db'}"), ("postgresql", postgres_url)):
            config = {"INSTANCE_PATH": str(scratch / "instance"), "TESTING": True, "SMS_BACKEND": "console",
                      "REDIS_URL": None}
            create, old_reset, new_reset = [], [], []
            shared = create_app({**config, "DATABASE_URL": url})
            with shared.app_context():
                db.create_all()
            for n in range(rounds):
                started = time.perf_counter()
                own = create_app({**config, "DATABASE_URL": url if name == "postgresql"
                                  else f"sqlite:///{scratch / f'own{n}.db'}"})
                create.append(time.perf_counter() - started)
                with own.app_context():
                    started = time.perf_counter()
                    if name == "postgresql":
                        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                        with db.engine.begin() as connection:
                            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                    else:
                        db.create_all()
                    old_reset.append(time.perf_counter() - started)
                    db.engine.dispose()
                with shared.app_context():
                    build_world(db.session)  # a test's worth of rows to clear
                    db.session.commit()
                    started = time.perf_counter()
                    empty_database(db.engine, db.metadata)
                    new_reset.append(time.perf_counter() - started)
            with shared.app_context():
                db.engine.dispose()
            results[name] = {"create_app_ms": _median_ms(create), "old_reset_ms": _median_ms(old_reset),
                             "old_per_test_ms": round(_median_ms(create) + _median_ms(old_reset), 1),
                             "new_per_test_ms": _median_ms(new_reset)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"rounds": rounds, **results}


def bench_run(label: str, keep: bool) -> dict:
    where = Path(tempfile.mkdtemp(prefix="gp-suite-clone-"))
    clone = where / "gridpatrol"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True,
                            check=True).stdout.strip()
    env = {**os.environ, "CI": "true"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    run = subprocess.run(["nice", "-n", "5", "./scripts/test"], cwd=clone, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = next((line.strip("= ") for line in reversed(run.stdout.splitlines()) if " in " in line and
                    ("passed" in line or "failed" in line)), run.stdout[-300:])
    (where / "output.txt").write_text(run.stdout + run.stderr)
    result = {"label": label, "commit": commit, "exit": run.returncode, "wall_s": round(wall, 1),
              "cpu_s": round(cpu, 1), "summary": summary, "output": str(where / "output.txt")}
    if not keep:
        shutil.rmtree(clone, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="a test's database set-up, old shape against new")
    setup.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/gp_suite_bench")
    setup.add_argument("--rounds", type=int, default=15)
    run = commands.add_parser("run", help="./scripts/test from a fresh clone of HEAD")
    run.add_argument("--label", default="")
    run.add_argument("--keep", action="store_true", help="keep the clone (the output file is always kept)")
    args = parser.parse_args()
    if args.command == "setup":
        print(json.dumps(bench_setup(args.postgres_url, args.rounds), ensure_ascii=False))
    else:
        print(json.dumps(bench_run(args.label, args.keep), ensure_ascii=False))


if __name__ == "__main__":
    main()
