"""Atomic rate limits in the database (the same on SQLite and PostgreSQL, with or without Redis).

Why: "count the last hour's texts, act when under the limit" lets 60 concurrent texts all read 19 and all
act (27 acted on with a limit of 20), and 64 concurrent logins all read "4 failures" (11 password checks
with a limit of 5). `serialize(key)` is ONE upsert on the key's row, made first in the transaction:
PostgreSQL makes concurrent upserts of a row wait for each other's commit, SQLite serialises writers, so
the count read after it sees every earlier event of that key. `hit` also returns a fixed-window count.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import case, delete
from sqlalchemy.orm import Session

from core.models import RateLimit, utcnow

_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def window_start(now: datetime, window: timedelta) -> datetime:
    buckets = (now - _EPOCH) // window
    return _EPOCH + buckets * window


def hit(session: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """Count one more event for `key` in the current window; return the count including this one."""
    start = window_start(now or utcnow(), window)
    table = RateLimit.__table__
    if session.get_bind().dialect.name == "postgresql":
        # local: each dialect's insert is named insert; the bind picks one
        from sqlalchemy.dialects.postgresql import insert
    else:
        # local: each dialect's insert is named insert; the bind picks one
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(key=key[:80], window_start=start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"count": case((table.c.window_start == start, table.c.count + 1), else_=1),
              "window_start": start},
    ).returning(table.c.count)
    return int(session.execute(statement).scalar_one())


def count(session: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """The key's count in the current window, without adding to it (0 when its row is of an older window)."""
    row = session.get(RateLimit, key[:80], populate_existing=True)
    if row is None or row.window_start != window_start(now or utcnow(), window):
        return 0
    return row.count


def reset(session: Session, key: str) -> None:
    session.execute(delete(RateLimit).where(RateLimit.key == key[:80]))


def serialize(session: Session, key: str, now: datetime | None = None) -> None:
    """Take the key's row lock until this transaction ends: requests for the same key (one sender, one
    phone logging in) then count and act one after another, never on the same stale count."""
    hit(session, key, timedelta(hours=1), now)
