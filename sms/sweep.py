"""The SMS safety net, run every minute (the workers' periodic table, or `gridpatrol sms sweep`).

Whatever a lost job, a dead worker or a Redis blink left behind is handed out again: outbox rows still
queued or stuck in `sending` (sms.outbox.sweep_outbox), and texts the phone's webhook accepted that no job
has filed yet (sms.inbound.file_unfiled_events). Providers that report delivery only when asked are asked
(sms.delivery.reconcile_deliveries). Every job it hands out is safe to run twice.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from core.jobs.context import job_session
from core.models import utcnow
from sms.delivery import reconcile_deliveries
from sms.inbound import file_unfiled_events
from sms.outbox import sweep_outbox


def sweep_sms(session: Session, now: datetime | None = None) -> dict:
    """Every part of the sweep; the caller commits. Counts: expired, enqueued (sends), checked and updated
    (deliveries asked about), texts_refiled."""
    now = now or utcnow()
    counts = sweep_outbox(session, now)
    counts.update(reconcile_deliveries(session, now))
    counts["texts_refiled"] = file_unfiled_events(session, now, current_app.config["SMS_SWEEP_GRACE_SECONDS"])
    return counts


def sweep_sms_job(now: str | datetime | None = None) -> dict:
    """The sweep as a job (the one the workers' periodic table runs every minute)."""
    with job_session() as session:
        return sweep_sms(session, datetime.fromisoformat(now) if isinstance(now, str) else now)
