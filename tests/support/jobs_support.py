"""Job functions for the job-runner contract suite (importable by dotted path, as RQ needs)."""
from __future__ import annotations


def record(path: str, value: str, suffix: str = "") -> str:
    with open(path, "a", encoding="utf-8") as out:
        out.write(value + suffix + "\n")
    return value
