"""The database extension every layer shares: one Flask-SQLAlchemy `db` over one metadata, bound to an app in
`server.create_app`. Constraint names follow one convention, so Alembic's revisions name them the same on
SQLite and PostgreSQL."""
import os
import weakref

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


# ---------------------------------------------------------------- connections never cross a fork
_ENGINES: "weakref.WeakSet" = weakref.WeakSet()


def forget_pools_after_fork(app) -> None:
    """Register the app's engines so that a forked child starts with empty connection pools.

    A process that forks after touching the database (RQ's work horse and its scheduler, forked from a
    worker whose app ran the startup checks; gunicorn with --preload; multiprocessing) would otherwise hand
    the child the parent's pooled PostgreSQL socket: two processes then talk over one connection, and the
    second to prepare a statement fails with DuplicatePreparedStatement. SQLAlchemy's documented remedy is
    `engine.dispose(close=False)` in the child: the child forgets the inherited connections without closing
    them (closing would end the parent's sessions) and opens its own. Redis needs nothing: redis-py's pool
    notices the new pid and starts afresh on its own."""
    with app.app_context():
        _ENGINES.update(db.engines.values())


def _forget_inherited_pools() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_pools)
