"""Ticket numbers: short, SMS-typeable, never reused, and race-free — the one allocator every channel uses.

A single counter row is bumped with UPDATE … RETURNING, atomic on every backend. The row does not exist
before the first incident; two first incidents arriving at once (two web workers, an SMS and a sync batch)
must not both INSERT it, so it is created with INSERT … ON CONFLICT DO NOTHING (PostgreSQL) / INSERT OR
IGNORE (SQLite) and bumped again: whoever loses the insert still gets its own number.
"""
from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.orm import Session
from sqlalchemy.dialects.postgresql import insert as pg_insert

from core.models import Counter

FIRST_TICKET = 100001
COUNTER = "ticket"


def allocate_tickets(session: Session, count: int) -> list[str]:
    """`count` consecutive fresh tickets (the counter is bumped once for a whole sync batch)."""
    if count <= 0:
        return []
    bump = update(Counter).where(Counter.name == COUNTER).values(value=Counter.value + count).returning(Counter.value)
    last = session.execute(bump).scalar()
    if last is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(pg_insert(Counter).values(name=COUNTER, value=FIRST_TICKET - 1).on_conflict_do_nothing())
        else:
            session.execute(insert(Counter).values(name=COUNTER, value=FIRST_TICKET - 1).prefix_with("OR IGNORE"))
        last = session.execute(bump).scalar()
    return [str(value) for value in range(last - count + 1, last + 1)]


def next_ticket(session: Session) -> str:
    return allocate_tickets(session, 1)[0]
