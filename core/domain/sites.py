"""The ledger (台账) of pollution-source points and their inspections ("checked daily, cleared daily").

An inspection is appended, never edited, and moves the site to the status the inspector found, so the
site's current status is always the last inspection's finding.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.domain.errors import Invalid, NotFound
from core.models import Area, Member, SITE_KINDS, SITE_STATUSES, Site, SiteInspection, utcnow


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None or site.deleted_at is not None:
        raise NotFound(f"no site with id {site_id}", details={"id": [f"Unknown site id {site_id}."]})
    return site


def _check(values: dict) -> None:
    errors = {}
    if "kind" in values and values["kind"] not in SITE_KINDS:
        errors["kind"] = [f"Must be one of {', '.join(SITE_KINDS)}."]
    if "status" in values and values["status"] not in SITE_STATUSES:
        errors["status"] = [f"Must be one of {', '.join(SITE_STATUSES)}."]
    if errors:
        raise Invalid("some fields are not valid", details=errors)


def create_site(session: Session, area: Area, values: dict) -> Site:
    _check(values)
    site = Site(area=area, **values)
    session.add(site)
    session.flush()
    return site


def update_site(session: Session, site: Site, changes: dict, area: Area | None = None) -> Site:
    _check(changes)
    for key, value in changes.items():
        setattr(site, key, value)
    if area is not None:
        site.area = area
    session.flush()
    return site


def delete_site(session: Session, site: Site) -> None:
    site.deleted_at = utcnow()


def inspect_site(session: Session, site: Site, *, status_after: str, member: Member | None = None,
                 note: str = "", at: datetime | None = None) -> SiteInspection:
    _check({"status": status_after})
    at = at or utcnow()
    inspection = SiteInspection(site=site, member_id=member.id if member else None, at=at,
                                status_after=status_after, note=note or "")
    session.add(inspection)
    if site.last_inspected_at is None or at >= site.last_inspected_at:
        site.status = status_after
        site.last_inspected_at = at
    session.flush()
    return inspection
