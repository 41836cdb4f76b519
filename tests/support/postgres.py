"""PostgreSQL databases the suite and the benchmarks own: created when missing, emptied before use."""
from __future__ import annotations


def ensure_postgres_database(url: str) -> None:
    """Create the database when the server is up but the database is not (a fresh machine)."""
    import psycopg
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", connect_timeout=3, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh_postgres_schema(url: str) -> None:
    """The database, created when missing, with an empty public schema (a benchmark's clean start)."""
    import psycopg
    url = url.replace("postgresql+psycopg://", "postgresql://")
    ensure_postgres_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def without_commit_flush(conn, url: str) -> None:
    """A test database needs no crash safety: its commits need not wait for the WAL to reach the disk (what
    other sessions see, and when, is unchanged). Applies to the database's connections opened from now on."""
    name = url.rpartition("/")[2].split("?")[0]
    conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
