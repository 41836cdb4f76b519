"""Operator actions on sync state: purging old tombstones (with the reset horizon) and a new epoch."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.models import Incident, IncidentEvent, Patrol, Site, SiteInspection
from sync.models import SyncMeta, SyncOpResult, SyncTombstone
from sync.pull import meta


def _raise_horizon(session: Session, version: int | None) -> int:
    current = session.get(SyncMeta, "purge")
    if current is None:
        current = SyncMeta(key="purge", number=0)
        session.add(current)
    if version and version > current.number:
        current.number = version
    session.flush()
    return current.number


def purge_tombstones(session: Session, older_than: datetime) -> dict:
    """Hard-delete records deleted before `older_than`, forget old tombstones and op results, and raise
    the purge horizon: a device whose cursor is below it may have missed a delete, so it must reset.

    Core deletes on purpose: the versioning hook would turn ORM deletes into new tombstones.
    """
    meta(session)
    counts, highest = {}, 0

    def gone(model, extra=None):
        nonlocal highest
        condition = (model.deleted_at.isnot(None)) & (model.deleted_at < older_than)
        if extra is not None:
            condition = condition & extra
        top = session.scalar(select(func.max(model.version)).where(condition))
        highest = max(highest, top or 0)
        return condition

    incidents = gone(Incident, ~Incident.id.in_(select(Incident.duplicate_of_id).where(
        Incident.duplicate_of_id.isnot(None))))
    doomed_incidents = select(Incident.id).where(incidents)
    counts["incident_events"] = session.execute(
        delete(IncidentEvent).where(IncidentEvent.incident_id.in_(doomed_incidents))).rowcount
    counts["incidents"] = session.execute(delete(Incident).where(incidents)).rowcount
    patrols = gone(Patrol, ~Patrol.id.in_(select(Incident.patrol_id).where(Incident.patrol_id.isnot(None))))
    counts["patrols"] = session.execute(delete(Patrol).where(patrols)).rowcount
    sites = gone(Site)
    session.execute(delete(SiteInspection).where(SiteInspection.site_id.in_(select(Site.id).where(sites))))
    counts["sites"] = session.execute(delete(Site).where(sites)).rowcount
    old_stones = SyncTombstone.deleted_at < older_than
    highest = max(highest, session.scalar(select(func.max(SyncTombstone.version)).where(old_stones)) or 0)
    counts["tombstones"] = session.execute(delete(SyncTombstone).where(old_stones)).rowcount
    counts["op_results"] = session.execute(delete(SyncOpResult).where(SyncOpResult.created_at < older_than)).rowcount
    counts["purge_horizon"] = _raise_horizon(session, highest)
    return counts


def new_epoch(session: Session) -> str:
    """After restoring a backup, versions may repeat: a new epoch makes every device reset."""
    meta(session)
    epoch = secrets.token_hex(4)
    session.execute(update(SyncMeta).where(SyncMeta.key == "epoch").values(text=epoch))
    return epoch
