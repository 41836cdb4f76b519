"""Telling an outage from a bad request: the database or Redis not answering right now (a lost or refused
connection, an admin shutdown, a full pool, a serialization failure or deadlock). HTTP answers such an error
with 503 and Retry-After, the SMS inbound spools the text, a job retries; nothing the client sent is wrong."""
from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def is_unavailable(exc: BaseException) -> bool:
    """Errors that mean "the database or Redis is not answering right now", not "this request is bad":
    a lost or refused connection, an admin shutdown, a full pool, a serialization failure or deadlock.
    The client should retry (503 + Retry-After); nothing it sent is wrong."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
        if isinstance(exc, (RedisConnectionError, RedisTimeout)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return False


def describe_unavailable(exc: BaseException) -> str:
    """One line naming the failure, never the statement's parameters (phones, SMS bodies)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first}"
