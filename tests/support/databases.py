"""The suite's databases: one PostgreSQL database and one SQLite file per test process, built once and
emptied before every test that uses them.

Why not a transaction rolled back per test: the code under test commits from threads of its own (the
in-process job runner, the live server behind the browser tests, pullers and writers in the concurrency
tests) and from other processes (gunicorn, RQ workers, the CLI), and they must see each other's committed
rows. So every test writes for real, and the next one starts by emptying what was written: a probe finds the
tables that hold rows and only those are deleted (children first), then the sequences that moved are
restarted. On tables of a few rows that is a few milliseconds, where a TRUNCATE of all 35 tables costs half a
second (it swaps every table's and index's files) and a SQLite `create_all` a few tenths.

`Snapshot` keeps the rows of a built data set (the demo) in memory and writes them back in one transaction,
so a test that needs the demo pays an insert, not the demo's build.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import inspect, text

# Made once per PostgreSQL database (CREATE OR REPLACE): empties the tables that hold rows, in the order
# given (children first), then restarts every sequence that has handed out a number. One round trip.
PG_CLEAN_FUNCTION = """
CREATE OR REPLACE FUNCTION gridpatrol_test_clean(tables text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  name text;
  dirty boolean;
  emptied integer := 0;
BEGIN
  FOREACH name IN ARRAY tables LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO dirty;
    IF dirty THEN
      EXECUTE format('DELETE FROM %I', name);
      emptied := emptied + 1;
    END IF;
  END LOOP;
  PERFORM setval(format('%I.%I', schemaname, sequencename), 1, false)
    FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL;
  RETURN emptied;
END $$
"""


def worker_id() -> str | None:
    """pytest-xdist's worker name ("gw0", "gw1", …) in a worker process, None in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def worker_number() -> int:
    worker = worker_id()
    return int(worker[2:]) if worker and worker[2:].isdigit() else 0


def per_worker_postgres_url(url: str) -> str:
    """Each xdist worker owns its database: the base name plus "_gw<n>" (a plain run uses the base name)."""
    worker = worker_id()
    if not worker:
        return url
    base, _, name = url.rpartition("/")
    name, sep, query = name.partition("?")
    return f"{base}/{name}_{worker}{sep}{query}"


def per_worker_redis_url(url: str, worker_dbs: str | None) -> str:
    """Worker n uses the n-th database of `worker_dbs` ("12,10,9") when given, else the URL's database
    minus n (15 → 15, 14, …). A plain run uses the URL as it is."""
    if not worker_id():
        return url
    number = worker_number()
    base, _, db = url.rpartition("/")
    choices = [d.strip() for d in (worker_dbs or "").split(",") if d.strip()]
    if choices:
        if number >= len(choices):
            raise RuntimeError(f"xdist worker {number} has no Redis database: GRIDPATROL_TEST_REDIS_DBS lists "
                               f"{len(choices)} ({worker_dbs}); list one per worker or run fewer workers")
        chosen = int(choices[number])
    else:
        chosen = int(db or 0) - number
    if not 0 <= chosen <= 15:
        raise RuntimeError(f"xdist worker {number} would use Redis database {chosen}; set GRIDPATROL_TEST_REDIS_DBS")
    return f"{base}/{chosen}"


def child_first_tables(metadata) -> list[str]:
    return [table.name for table in reversed(metadata.sorted_tables)]


_schema_ready: set[str] = set()


def ensure_schema(engine, metadata) -> None:
    """The models' tables (and, on PostgreSQL, the clean function) exist: made once per database per process."""
    key = str(engine.url)
    if key in _schema_ready:
        return
    missing = set(metadata.tables) - set(inspect(engine).get_table_names())
    if missing:
        metadata.create_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text(PG_CLEAN_FUNCTION))
    _schema_ready.add(key)


def empty_database(engine, metadata) -> None:
    """Delete every row the previous test wrote and restart the id sequences (see the module docstring)."""
    from sms.commands import clear_caches  # reference data cached per database URL goes with the rows
    clear_caches()
    ensure_schema(engine, metadata)
    tables = child_first_tables(metadata)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL lock_timeout = '60s'"))
            connection.execute(text("SELECT gridpatrol_test_clean(:tables)"), {"tables": tables})
            return
        probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables)
        dirty = {row[0] for row in connection.execute(text(probe))}
        for name in tables:
            if name in dirty:
                connection.execute(text(f'DELETE FROM "{name}"'))
        if connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            connection.execute(text("DELETE FROM sqlite_sequence"))


def parents_first(table, rows: list[dict]) -> list[dict]:
    """Order a table's rows so a row that refers to another row of the same table (an area's parent) comes
    after it: the rows are written back with the foreign keys checked."""
    links = [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table]
    if not links:
        return rows
    placed: set = set()
    ordered: list[dict] = []
    waiting = rows
    while waiting:
        ready = [row for row in waiting
                 if all(row[child] is None or (target, row[child]) in placed for child, target in links)]
        if not ready:
            raise ValueError(f"{table.name}: rows refer to each other in a circle")
        ordered += ready
        placed |= {(target, row[target]) for row in ready for _child, target in links}
        taken = {id(row) for row in ready}
        waiting = [row for row in waiting if id(row) not in taken]
    return ordered


@dataclass
class Snapshot:
    """The rows of every table at one moment, to write back into an emptied database of the same dialect."""

    rows: dict[str, list[dict]]
    taken_at: datetime
    extra: object = None
    instants: list[datetime] = field(default_factory=list)

    @classmethod
    def take(cls, engine, metadata, extra=None) -> "Snapshot":
        rows: dict[str, list[dict]] = {}
        instants: list[datetime] = []
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                found = [dict(row) for row in connection.execute(table.select()).mappings()]
                if found:
                    rows[table.name] = parents_first(table, found)
                    instants += [v for row in found for v in row.values() if isinstance(v, datetime)]
        return cls(rows=rows, taken_at=datetime.now(timezone.utc), extra=extra, instants=instants)

    def outdated(self, now: datetime | None = None) -> bool:
        """True once an instant the rows hold (a window's end, a deadline) has passed since they were taken:
        a build made now would see that moment on the other side, so the copy no longer stands for one."""
        now = now or datetime.now(timezone.utc)
        aware = (i if i.tzinfo else i.replace(tzinfo=timezone.utc) for i in self.instants)
        return any(self.taken_at < instant <= now for instant in aware)

    def restore(self, engine, metadata) -> None:
        """Write the rows back (the database must be empty) and move the id sequences past them."""
        with engine.begin() as connection:
            for table in metadata.sorted_tables:
                if table.name in self.rows:
                    connection.execute(table.insert(), self.rows[table.name])
            if engine.dialect.name == "postgresql":
                moves = []
                for table in metadata.sorted_tables:
                    keys = list(table.primary_key.columns)
                    if table.name in self.rows and len(keys) == 1 and keys[0].autoincrement in (True, "auto"):
                        top = max(row[keys[0].name] for row in self.rows[table.name])
                        if isinstance(top, int):
                            moves.append(f"setval(pg_get_serial_sequence('{table.name}', '{keys[0].name}'), {top})")
                if moves:  # a table without a sequence gets NULL from pg_get_serial_sequence: setval skips it
                    connection.execute(text("SELECT " + ", ".join(moves)))


_data_sets: dict = {}


def data_set(app, name: str, build):
    """The data set `name` in the app's (emptied) database: `build()` the first time in this process, and again
    when the copy is outdated; otherwise the rows are written back from memory. Returns what `build()`
    returned (a fresh copy each time)."""
    from core.db import db
    with app.app_context():
        key = (name, str(db.engine.url))
        snapshot = _data_sets.get(key)
        if snapshot is not None and not snapshot.outdated():
            snapshot.restore(db.engine, db.metadata)
            return copy.deepcopy(snapshot.extra)
    built = build()
    app.extensions["gridpatrol.runner"].wait(timeout=60)  # the jobs the build queued wrote their rows
    with app.app_context():
        _data_sets[key] = Snapshot.take(db.engine, db.metadata, extra=copy.deepcopy(built))
    return built
