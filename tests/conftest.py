"""Test harness: every test that takes `app`, `session` or `client` runs on SQLite and on PostgreSQL.

PostgreSQL and Redis are real servers on this machine. When one is unreachable the tests that need it
skip on a developer's machine and FAIL under CI=true, so a green CI always means they really ran.
Environment knobs (for running several suites side by side):
  GRIDPATROL_TEST_POSTGRES_URL   default postgresql://postgres@127.0.0.1:5432/gridpatrol_test (created when missing)
  GRIDPATROL_TEST_REDIS_URL      default redis://127.0.0.1:6379/15 (flushed only when it holds the suite's
                                 marker key or nothing at all)
  GRIDPATROL_TEST_BACKENDS       default "sqlite,postgresql"
"""
from __future__ import annotations

import os

import pytest

from tests.support.factories import build_world
from tests.support.postgres import ensure_postgres_database

pytest_plugins = ["tests.support.browser", "tests.support.sms_fixtures", "tests.support.tcp_proxy"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = [b.strip() for b in os.environ.get("GRIDPATROL_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
POSTGRES_URL = os.environ.get("GRIDPATROL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/gridpatrol_test")
REDIS_URL = os.environ.get("GRIDPATROL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


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


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


_created: set[str] = set()


def reset_database(db) -> None:
    """Empty every table. PostgreSQL keeps its schema between tests (TRUNCATE is fast); SQLite files are new.
    The per-process caches of reference data (catalogue, area names, the office's words) go with them: the
    PostgreSQL database keeps its URL, so a cache keyed by it would outlive the rows it copied."""
    from sqlalchemy import text
    from sms.commands import clear_caches
    clear_caches()
    url = str(db.engine.url)
    if db.engine.dialect.name == "postgresql":
        if url not in _created:
            db.create_all()
            _created.add(url)
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        db.create_all()


def make_app(db_url: str, tmp_path, **overrides):
    from server import create_app
    config = {"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
              "SMS_BACKEND": "console", "REDIS_URL": None}
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(db_url, tmp_path):
    from server.extensions import db
    application = make_app(db_url, tmp_path)
    with application.app_context():
        reset_database(db)
    yield application
    application.extensions["gridpatrol.runner"].wait(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The app's SQLAlchemy session inside an app context, for domain-level tests."""
    from server.extensions import db
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle (`server.extensions.db`, the very object the code imports) with an app
    context pushed for the whole test, so the body reads `db.session...` with no `with app.app_context():`
    block. It yields the handle, not the session, so a converted test keeps its lines as they were; nothing is
    rolled back (the context's teardown removes the session). List it after fixtures that build data
    (`world`, `demo`).

    For tests that only touch the database. A test that also makes requests, runs the CLI or a job against the
    same app keeps its own scoped `with app.app_context():` blocks: a test-client request made while this
    context is pushed reuses it (Flask 3.1), sharing `g` and the session with the test."""
    from server.extensions import db as handle
    with app.app_context():
        yield handle


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """A small sub-district with two communities, three grids, leaders, patrollers, tokens and a device."""
    from server.extensions import db
    with app.app_context():
        result = build_world(db.session)
        db.session.commit()
        return result


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
