"""Alembic migrations. Run them with `gridpatrol db upgrade` (or `server.migrate.upgrade_database`)."""
