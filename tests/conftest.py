"""Test harness: real PostgreSQL, SQLite and Redis, set up once per test process and emptied per test.

The suite's shape (docs/testing.md says the same for people who do not read conftests):

Databases. A test that takes `app`, `client`, `session`, `db`, `world` or `db_url` runs on ONE database, the
default: PostgreSQL, because production runs it, and it is the stricter of the two (types, constraints,
real concurrency and row locks), so a test that passes there exercises what offices run. Tests whose subject
behaves differently per database run on BOTH: mark them `@pytest.mark.both_databases` (a module sets
`pytestmark`). That is the code that branches on the dialect or leans on the engine: the sync push (COPY
against multi-row INSERT) and pull (the visibility horizon), versions, upserts (ON CONFLICT), row locks and
SKIP LOCKED in the outbox and the workers' scans, the ticket counter, rate limits, concurrency and races, the
demo's figures, SQL injection, and SQLite's embedded behaviour. `--all-databases` runs every database test on
every backend (a release check); the parameter id stays `[postgresql]` / `[sqlite]` either way.

Set-up paid once. Each test process owns one PostgreSQL database and one SQLite file, with the schema made
once (tests/support/databases.py); before each test only the tables that hold rows are emptied and the
sequences restarted (milliseconds, not a TRUNCATE's half second); the PostgreSQL database commits without
waiting for its WAL to reach the disk (no crash safety needed; what other sessions see is unchanged).
Transactions rolled back per test are not used: job-runner threads, the browser's live server and the worker
processes must see committed rows. The app is one per database per process (tests/support/apps.py), its
config and extensions put back after each test. The demo and the `world` are built once per database and
written back from memory for each test that asks for them.

Parallel runs. `./scripts/test` with no arguments runs pytest-xdist with one worker per core (at most 4;
GRIDPATROL_TEST_WORKERS overrides, 0 turns xdist off) and `--dist worksteal`: a worker that runs out of tests
takes half of another's queue. Tests marked `slow_start` (tens of seconds or more: the scripted day, the plain
install, the model retraining, schemathesis, worker and gunicorn processes) are collected first, so they start
at once and the rest fills in around them. The plain install (the wheel in a fresh venv) is built once per run
under a file lock and shared by the workers. Each worker owns its databases: PostgreSQL `<name>_gw<n>` (and
`<name>_gw<n>_plain`, `_e2e`, `_worker`, `_migrations` for the tests that make their own), Redis db "the URL's db minus
n" (15, 14, … by default) unless GRIDPATROL_TEST_REDIS_DBS lists one per worker ("12,10").
`./scripts/test tests/sync/test_sync_basic.py` runs one file in one process.

PostgreSQL and Redis are real servers on this machine. When one is unreachable the tests that need it skip on
a developer's machine and FAIL under CI=true, so a green CI always means they really ran.
Environment knobs (for running several suites side by side):
  GRIDPATROL_TEST_POSTGRES_URL   default postgresql://postgres@127.0.0.1:5432/gridpatrol_test (created when
                                 missing; an xdist worker appends _gw<n> to the name)
  GRIDPATROL_TEST_REDIS_URL      default redis://127.0.0.1:6379/15 (flushed only when it holds the suite's
                                 marker key or nothing at all)
  GRIDPATROL_TEST_REDIS_DBS      the Redis db of each xdist worker, in order ("12,10"); default: the URL's db
                                 minus the worker's number
  GRIDPATROL_TEST_BACKENDS       the databases `both_databases` tests run on, default "sqlite,postgresql"
  GRIDPATROL_TEST_DATABASE       the default database of the other tests, default postgresql (sqlite when
                                 GRIDPATROL_TEST_BACKENDS leaves PostgreSQL out)
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from tests.support.databases import data_set, empty_database, per_worker_postgres_url, per_worker_redis_url
from tests.support.factories import build_world
from tests.support.postgres import ensure_postgres_database, without_commit_flush

pytest_plugins = ["tests.support.browser", "tests.support.sms_fixtures", "tests.support.tcp_proxy",
                  "tests.support.plain_install"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = [b.strip() for b in os.environ.get("GRIDPATROL_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
DEFAULT_BACKEND = os.environ.get("GRIDPATROL_TEST_DATABASE") or ("postgresql" if "postgresql" in BACKENDS
                                                                 else BACKENDS[0])
POSTGRES_URL = per_worker_postgres_url(
    os.environ.get("GRIDPATROL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/gridpatrol_test"))
REDIS_URL = per_worker_redis_url(os.environ.get("GRIDPATROL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                                 os.environ.get("GRIDPATROL_TEST_REDIS_DBS"))


def pytest_addoption(parser):
    parser.addoption("--all-databases", action="store_true",
                     help="run every database test on every backend in GRIDPATROL_TEST_BACKENDS")


def backends_for(node, config) -> list[str]:
    if config.getoption("--all-databases") or node.get_closest_marker("both_databases"):
        return BACKENDS
    return [DEFAULT_BACKEND]


def pytest_generate_tests(metafunc):
    """Every test that reaches a database fixture gets the `backend` parameter: one database, or both."""
    if "backend" in metafunc.fixturenames:
        names = backends_for(metafunc.definition, metafunc.config)
        metafunc.parametrize("backend", names, ids=names, indirect=True)


def pytest_collection_modifyitems(config, items):
    """The longest tests (marked `slow_start`: minutes of processes) go first, so under xdist one worker starts
    on them while the others share the rest, and steal from it when they run out."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow_start") else 1)


def unavailable(what: str, error: Exception):
    message = f"{what} is unreachable: {error}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: services must be up, not skipped)", pytrace=False)
    pytest.skip(message)


_pg_state: dict = {}


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if "error" in _pg_state:
        unavailable("PostgreSQL", _pg_state["error"])
    if "ready" not in _pg_state:
        import psycopg
        try:
            ensure_postgres_database(POSTGRES_URL)
            with psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True) as conn:
                # A clean schema per test session: models may have changed since the last run.
                conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
                conn.execute("CREATE SCHEMA public")
                without_commit_flush(conn, POSTGRES_URL)
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _pg_state["error"] = exc
            unavailable("PostgreSQL", exc)
        _pg_state["ready"] = True
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis
    try:
        Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis", exc)
    claim_test_redis(REDIS_URL)
    return REDIS_URL


REDIS_OWNER_KEY = "gridpatrol:test-suite:owner"


def claim_test_redis(url: str) -> None:
    """The suite flushes its Redis db; it must be the suite's own. An empty db is claimed with a marker
    key; a db holding other keys and no marker is refused (set GRIDPATROL_TEST_REDIS_URL to a free db)."""
    from redis import Redis
    connection = Redis.from_url(url)
    if connection.exists(REDIS_OWNER_KEY):
        return
    if connection.dbsize():
        pytest.fail(f"Redis {url} holds {connection.dbsize()} keys that are not this test suite's; refusing to "
                    "flush it. Point GRIDPATROL_TEST_REDIS_URL at an empty database (README, Configuration).",
                    pytrace=False)
    connection.set(REDIS_OWNER_KEY, "gridpatrol tests flush this database")


def flush_test_redis(url: str) -> None:
    """Empty the suite's Redis db, keeping its ownership marker."""
    from redis import Redis
    claim_test_redis(url)
    connection = Redis.from_url(url)
    connection.flushdb()
    connection.set(REDIS_OWNER_KEY, "gridpatrol tests flush this database")


@pytest.fixture(scope="module")
def backend(request) -> str:
    """"sqlite" or "postgresql", set per test by pytest_generate_tests (module-scoped so a module-wide world
    can depend on it)."""
    return request.param


@pytest.fixture(scope="session")
def _sqlite_file(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'suite.db'}"


def database_url(request, backend: str) -> str:
    """The test process's database for `backend` (schema made on first use)."""
    if backend == "sqlite":
        return request.getfixturevalue("_sqlite_file")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db_url(backend, request) -> str:
    """The process's database for the test's backend, for a test that builds its own app on it
    (`make_app(db_url, tmp_path)`, then `reset_database`). Not emptied here: a test may take it beside `app`
    and `world`, whose rows it must keep."""
    return database_url(request, backend)


def reset_database(db) -> None:
    """Empty every table of the app's database (schema made on first use) and the reference-data caches."""
    empty_database(db.engine, db.metadata)


def make_app(db_url: str, tmp_path, **overrides):
    from server import create_app
    config = {"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
              "SMS_BACKEND": "console", "REDIS_URL": None}
    config.update(overrides)
    return create_app(config)


_shared: dict = {}


@pytest.fixture(scope="session")
def _shared_apps(tmp_path_factory):
    """The process's app per database, built on first use and closed at the end of the session."""
    yield _shared
    from core.db import db
    for application in _shared.values():
        application.extensions["gridpatrol.runner"].wait(timeout=30)
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    _shared.clear()


def shared_app(request, backend: str, **overrides):
    """The process's app for `backend` and this configuration (overrides of plain values), built once."""
    apps = request.getfixturevalue("_shared_apps")
    key = (backend, tuple(sorted(overrides.items())))
    if key not in apps:
        where = request.getfixturevalue("tmp_path_factory").mktemp(f"app-{backend}")
        apps[key] = make_app(database_url(request, backend), where, **overrides)
    return apps[key]


@pytest.fixture
def app(backend, request, tmp_path):
    """The process's app on the test's database, emptied, with the test's own instance folder; what the test
    changes in the app's config and extensions is put back after it (tests/support/apps.py)."""
    from core.db import db
    from tests.support.apps import isolated
    application = shared_app(request, backend)
    with isolated(application, tmp_path / "instance", lambda: reset_database(db)):
        yield application


@pytest.fixture
def session(app):
    """The app's SQLAlchemy session inside an app context, for domain-level tests."""
    from core.db import db
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle (`core.db.db`, the very object the code imports) with an app
    context pushed for the whole test, so the body reads `db.session...` with no `with app.app_context():`
    block. It yields the handle, not the session, so a converted test keeps its lines as they were; nothing is
    rolled back (the context's teardown removes the session). List it after fixtures that build data
    (`world`, `demo`).

    For tests that only touch the database. A test that also makes requests, runs the CLI or a job against the
    same app keeps its own scoped `with app.app_context():` blocks: a test-client request made while this
    context is pushed reuses it (Flask 3.1), sharing `g` and the session with the test."""
    from core.db import db as handle
    with app.app_context():
        yield handle


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """A small sub-district with two communities, three grids, leaders, patrollers, tokens and a device:
    `world.ids`, `world.tokens`, `world.device_token`, `world.device2_token` (tests/support/factories.py). Built
    once per database per process and written back for each test."""
    return SimpleNamespace(**data_set(app, "world", lambda: plain_world(app)))


def plain_world(app) -> dict:
    """`build_world` in the app's database, committed, as plain values (ids and tokens)."""
    from core.db import db
    with app.app_context():
        built = build_world(db.session)
        db.session.commit()
        return {"ids": built.ids, "tokens": built.tokens, "device_token": built.device_token,
                "device2_token": built.device2_token}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}

