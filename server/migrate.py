"""Create and upgrade the database with Alembic — the only way production and the embedded run get a schema.

Tests use `create_all` for speed; everything an operator runs (`gridpatrol db upgrade`, `gridpatrol serve`)
goes through here, so the migrations are exercised on every start. Features add their own revisions
branching from "0001_foundation", so there are several heads and we always upgrade to all of them.
"""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect

from core.domain import audit
from core.domain.reference import seed_reference_data
from core.db import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config built in code: no alembic.ini has to be found relative to the working directory."""
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _run(app: Flask, fn, *args) -> None:
    with app.app_context():
        cfg = alembic_config()
        with db.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            fn(cfg, *args)


class UnversionedDatabase(RuntimeError):
    """Tables exist but Alembic has no record of them (made by `create_all`, or by hand)."""


def upgrade_database(app: Flask, revision: str = "heads") -> list[str]:
    """Bring the app's database to every head; returns the revisions it is at afterwards."""
    if not current_revisions(app) and _has_tables(app):
        raise UnversionedDatabase(
            "the database has tables but no migration history (was it made by create_all?); if its schema matches "
            "this release, record that with `gridpatrol db stamp heads`, else start from an empty database")
    _run(app, command.upgrade, revision)
    return current_revisions(app)


def stamp_database(app: Flask, revision: str = "heads") -> list[str]:
    """Record that the database is at `revision` without running anything."""
    _run(app, command.stamp, revision)
    return current_revisions(app)


def _has_tables(app: Flask) -> bool:
    with app.app_context():
        return bool(set(inspect(db.engine).get_table_names()) & set(db.metadata.tables))


def downgrade_database(app: Flask, revision: str) -> None:
    _run(app, command.downgrade, revision)


def current_revisions(app: Flask) -> list[str]:
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # only looking: no "Context impl …" lines on every start
    try:
        with app.app_context():
            with db.engine.connect() as connection:
                return sorted(MigrationContext.configure(connection).get_current_heads())
    finally:
        quiet.setLevel(level)


def head_revisions() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_up_to_date(app: Flask) -> bool:
    return current_revisions(app) == head_revisions()


def seed_after_upgrade(app: Flask) -> dict:
    """Reference data a working installation needs (the standard problem catalogue), seeded once into an
    empty catalogue after the schema is current. Why not a data migration: core/domain/reference.py."""
    with app.app_context():
        result = seed_reference_data(db.session)
        db.session.commit()
    return result


def record_migration(app: Flask, action: str, before: list[str], after: list[str]) -> None:
    """Schema changes go in the audit log too (only when something changed, so restarts add nothing)."""
    if before == after:
        return
    with app.app_context():
        audit.record(db.session, action, channel="cli", actor_label="cli", entity="database",
                     summary={"from": before, "to": after})
        db.session.commit()
