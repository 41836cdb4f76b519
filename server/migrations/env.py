"""Alembic environment: the app's one metadata, the app's database.

`server.migrate` hands over an open connection in `config.attributes["connection"]`; the plain `alembic`
command has none, so an app is built from the environment (DATABASE_URL) like every other entry point.
SQLite cannot ALTER most things, so migrations run in batch mode there.
"""
from __future__ import annotations

from alembic import context

from core.db import db

from server import import_feature_models

import_feature_models()  # every table on the metadata, feature tables included

config = context.config
target_metadata = db.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    # local: Alembic runs this file; only the mode it runs in loads the app or config
    from server import create_app
    app = create_app()
    with app.app_context():
        with db.engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()


def run_migrations_offline() -> None:
    # local: Alembic runs this file; only the mode it runs in loads the app or config
    from server.config import load_config
    context.configure(url=load_config()["SQLALCHEMY_DATABASE_URI"], target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
