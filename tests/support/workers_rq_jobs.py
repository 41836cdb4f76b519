"""Job functions only the RQ tests enqueue: the real scan, made to stop in the middle so a test can kill
the worker there. Runs inside worker subprocesses (imported by dotted path)."""
from __future__ import annotations

import os
import time
from pathlib import Path


def _hanging(real, marker: str, hang_on_call: int):
    """Wrap `real`: its `hang_on_call`-th call runs, then writes this process's pid to `marker` and sleeps
    (inside the caller's open transaction) until the test kills the process."""
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        result = real(*args, **kwargs)
        if calls["n"] == hang_on_call:
            Path(marker).write_text(str(os.getpid()))
            time.sleep(120)
        return result
    return wrapper


def missed_scan_that_hangs(now: str, marker: str, hang_on_call: int = 3) -> dict:
    """The real missed-patrol job; the `hang_on_call`-th batch's alerts are recorded, then it hangs before
    that batch commits — a kill mid-scan."""
    import core.domain.missed_patrols as scans
    from workers.jobs import missed_patrols_job
    real = scans.raise_alerts
    scans.raise_alerts = _hanging(real, marker, hang_on_call)
    try:
        return missed_patrols_job(now)
    finally:
        scans.raise_alerts = real


def delivery_that_hangs(now: str, marker: str, hang_on_call: int = 2) -> dict:
    """The real deliver job; the `hang_on_call`-th hand-over to the SMS outbox happens, then it hangs
    before that batch commits — a kill mid-send."""
    import sms.outbox as outbox
    from workers.jobs import deliver_alerts_job
    real = outbox.queue_messages
    outbox.queue_messages = _hanging(real, marker, hang_on_call)
    try:
        return deliver_alerts_job(now)
    finally:
        outbox.queue_messages = real
