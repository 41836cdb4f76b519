"""The migrations build exactly the schema the models describe, on PostgreSQL and on SQLite.

Tests elsewhere use `create_all`; production and `gridpatrol serve` use these migrations, so a model change
without its migration must fail here. Runs in its own database (`<test db>_migrations`), created and dropped
over an admin connection, so it never disturbs the suite's shared test database.
"""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server import create_app
from core.db import db
from server.migrate import current_revisions, downgrade_database, head_revisions, upgrade_database
from tests.conftest import POSTGRES_URL, unavailable


def _schema_differences(app) -> list[str]:
    """Readable differences between the migrated database and the models ([] when they match).

    A failure here means a model changed without its migration: add the missing tables/columns to the
    feature's own revision (server/migrations/versions/000N_<feature>.py, down_revision "0001_foundation").
    """
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return [_describe(diff) for diff in compare_metadata(context, db.metadata)]


def _describe(diff) -> str:
    if isinstance(diff, list):  # column modifications come as lists of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    target = rest[0] if rest else None
    name = getattr(target, "name", None)
    if kind in ("add_table", "remove_table"):
        return f"{kind} {name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {rest[1]}.{rest[2].name}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        return f"{kind} {name} on {getattr(getattr(target, 'table', None), 'name', '?')}"
    return f"{kind} {rest[:3]}"


@pytest.fixture
def migrations_postgres_url():
    import psycopg
    base, _, name = POSTGRES_URL.rpartition("/")
    scratch = f"{name}_migrations"
    admin_url = f"{base}/postgres"
    try:
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{scratch}"')
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL", exc)
    yield f"{base}/{scratch}"
    with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _app(url, tmp_path):
    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"), "REDIS_URL": None,
                       "TESTING": True})


@pytest.mark.postgres
def test_postgres_upgrade_heads_matches_models(migrations_postgres_url, tmp_path):
    app = _app(migrations_postgres_url, tmp_path)
    assert current_revisions(app) == []
    assert upgrade_database(app) == head_revisions()
    assert "0001_foundation" in _all_applied(app)
    assert _schema_differences(app) == []
    # Upgrading an up-to-date database is a no-op, not an error (serve runs it on every start).
    assert upgrade_database(app) == head_revisions()
    with app.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_postgres_downgrade_to_base_and_back(migrations_postgres_url, tmp_path):
    app = _app(migrations_postgres_url, tmp_path)
    upgrade_database(app)
    downgrade_database(app, "base")
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(app)
    assert _schema_differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_sqlite_upgrade_heads_matches_models(tmp_path):
    app = _app(f"sqlite:///{tmp_path / 'migrated.db'}", tmp_path)
    assert upgrade_database(app) == head_revisions()
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"areas", "members", "incidents", "incident_events", "audit_log"} <= tables
    assert _schema_differences(app) == []


def test_every_feature_revision_branches_from_the_foundation():
    from alembic.script import ScriptDirectory
    from server.migrate import alembic_config
    scripts = ScriptDirectory.from_config(alembic_config())
    for revision in scripts.walk_revisions():
        if revision.revision == "0001_foundation":
            assert revision.down_revision is None
        else:
            assert revision.down_revision is not None, f"{revision.revision} must build on 0001_foundation"


def _all_applied(app) -> set[str]:
    from alembic.script import ScriptDirectory
    from server.migrate import alembic_config
    scripts = ScriptDirectory.from_config(alembic_config())
    applied: set[str] = set()
    for head in current_revisions(app):
        applied.update(r.revision for r in scripts.iterate_revisions(head, "base"))
    return applied
