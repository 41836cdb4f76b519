"""Hybrid logical clocks: wall-clock milliseconds, a counter and a node name.

HLCs order edits made on devices whose clocks disagree, while staying close to real time so a person
reading the conflicts log can tell when an edit happened. Clocks travel as short strings
`<ms hex>-<counter hex>-<node>` and compare as (ms, counter, node) tuples, so ties between devices are
broken deterministically by node name.
"""
from __future__ import annotations

import threading
import time
from typing import NamedTuple

MAX_DRIFT_MS = 5 * 60 * 1000  # an edit further ahead of the server than this is clamped
MAX_NODE_LENGTH = 40


class HLC(NamedTuple):
    ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.ms:x}-{self.counter:x}-{self.node}"


ZERO = HLC(0, 0, "")


def parse(text) -> HLC:
    """Parse a wire clock or raise ValueError with a message a developer can act on."""
    if not isinstance(text, str):
        raise ValueError("Must be a string like '18c3b1a2f00-0-device1'.")
    parts = text.split("-", 2)
    if len(parts) != 3 or not parts[2] or len(parts[2]) > MAX_NODE_LENGTH:
        raise ValueError("Must look like '<ms hex>-<counter hex>-<node>'.")
    if not all(ch.isascii() and (ch.isalnum() or ch in "_.:-") for ch in parts[2]):
        raise ValueError("The node may use only ASCII letters, digits and _ . : -")
    try:
        ms, counter = int(parts[0], 16), int(parts[1], 16)
    except ValueError:
        raise ValueError("Milliseconds and counter must be hexadecimal.") from None
    if ms < 0 or counter < 0 or ms >= 1 << 52 or counter >= 1 << 32 or parts[0].startswith(("+", "-")):
        raise ValueError("Milliseconds or counter out of range.")
    return HLC(ms, counter, parts[2])


def parse_or_zero(text) -> HLC:
    if not text:
        return ZERO
    try:
        return parse(text)
    except ValueError:
        return ZERO


def wall_ms() -> int:
    return int(time.time() * 1000)


def clamp(clock: HLC, now_ms: int) -> HLC:
    """A clock more than MAX_DRIFT_MS ahead of the server is pulled back to the server's now."""
    if clock.ms > now_ms + MAX_DRIFT_MS:
        return HLC(now_ms, clock.counter, clock.node)
    return clock


class Clock:
    """A node's HLC: `tick()` for a local event, `receive()` when a remote clock is seen."""

    def __init__(self, node: str, last: HLC | None = None, wall=wall_ms):
        self.node = node
        self.last = last or HLC(0, 0, node)
        self.wall = wall
        self._lock = threading.Lock()

    def tick(self) -> HLC:
        with self._lock:
            now = self.wall()
            if now > self.last.ms:
                self.last = HLC(now, 0, self.node)
            else:
                self.last = HLC(self.last.ms, self.last.counter + 1, self.node)
            return self.last

    def receive(self, remote: HLC) -> HLC:
        with self._lock:
            now = self.wall()
            remote_ms = min(remote.ms, now + MAX_DRIFT_MS)
            ms = max(now, self.last.ms, remote_ms)
            if ms == self.last.ms == remote_ms:
                counter = max(self.last.counter, remote.counter) + 1
            elif ms == self.last.ms:
                counter = self.last.counter + 1
            elif ms == remote_ms:
                counter = remote.counter + 1
            else:
                counter = 0
            self.last = HLC(ms, counter, self.node)
            return self.last


server_clock = Clock("server")
