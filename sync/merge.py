"""Merge rules as plain functions: field-level last-writer-wins by HLC, and the equality test that
append-only records use. No I/O here, so the rules are easy to test and to port to a device.

Rules (see docs/protocol.md):
- each field carries the clock of the edit that set it; a missing field clock falls back to the record's
  creation clock `_`, and a record created server-side (API, coded SMS) has the zero clock, so a device's
  copy of a record that arrived first by SMS wins over the SMS digest of it;
- a pushed field wins when its clock is newer; equal clocks with different values (only possible for
  clamped or forged clocks) are broken by comparing canonical JSON, so every order gives one answer.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sync.hlc import HLC, ZERO, parse_or_zero


def canonical(value) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc).isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def clock_of(clocks: dict, field: str) -> HLC:
    if field in clocks:
        return parse_or_zero(clocks[field])
    return parse_or_zero(clocks.get("_"))


def same_value(a, b) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return canonical(a) == canonical(b)


def last_writer_wins(current: dict, clocks: dict, pushed: dict, clock: HLC) -> tuple[dict, dict]:
    """Split pushed fields into (winners, losers). Losers map to the current (winning) value.

    A pushed field equal to the current value under an older clock is neither: nothing changes and
    nothing is lost.
    """
    winners, losers = {}, {}
    for field, value in pushed.items():
        held = clock_of(clocks, field)
        now_value = current.get(field)
        if clock > held:
            winners[field] = value
        elif clock == held:
            if not same_value(value, now_value) and canonical(value) > canonical(now_value):
                winners[field] = value
            elif not same_value(value, now_value):
                losers[field] = now_value
        elif not same_value(value, now_value):
            losers[field] = now_value
    return winners, losers


def updated_clocks(clocks: dict, fields, clock: HLC) -> dict:
    new = dict(clocks or {})
    text = str(clock)
    for field in fields:
        new[field] = text
    return new


def is_zero(clock: HLC) -> bool:
    return clock == ZERO
