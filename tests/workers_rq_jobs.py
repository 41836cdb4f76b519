"""Job functions only the RQ tests enqueue: the real scan, made to stop in the middle so a test can kill
the worker there. Runs inside worker subprocesses (imported by dotted path)."""
from __future__ import annotations

import os
import time
from pathlib import Path


def missed_scan_that_hangs(now: str, marker: str, hang_on_call: int = 2) -> dict:
    """The real missed-patrol job, but the `hang_on_call`-th hand-over to the outbox touches `marker` and
    sleeps: by then the earlier batches are committed and the current one is open — a kill mid-scan."""
    import workers.alerts as alerts
    from workers.jobs import missed_patrols_job

    real = alerts.queue_outbound
    calls = {"n": 0}

    def slow(session, **kwargs):
        calls["n"] += 1
        result = real(session, **kwargs)
        if calls["n"] == hang_on_call:
            Path(marker).write_text(str(os.getpid()))
            time.sleep(120)
        return result

    alerts.queue_outbound = slow
    try:
        return missed_patrols_job(now)
    finally:
        alerts.queue_outbound = real
