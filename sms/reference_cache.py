"""Reference data every text needs (the catalogue, area names, the understanding's lexicon, gazetteer and
intake area) changes rarely: each process keeps it for half a minute instead of querying it on every
webhook. A change made in another process is seen within 30 s; `clear_caches` makes this one see it now."""
from __future__ import annotations

import time

from sqlalchemy.orm import Session

_CACHE_SECONDS = 30.0
_cache: dict = {}


def cached(session: Session, name: str, load):
    """Reference data every text needs (catalogue, area names) changes rarely: keep it per process for
    half a minute instead of querying it on every webhook."""
    key = (name, str(session.get_bind().url))
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    value = load()
    _cache[key] = (now, value)
    return value


def clear_caches() -> None:
    _cache.clear()
