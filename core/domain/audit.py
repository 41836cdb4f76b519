"""Append to the audit log; called by every write path of the API and CLI."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import AuditLog, Member


def record(session: Session, action: str, *, channel: str = "api", actor: Member | None = None,
           actor_label: str = "", entity: str = "", entity_id="", summary: dict | None = None) -> AuditLog:
    entry = AuditLog(channel=channel, action=action, actor_member_id=actor.id if actor else None,
                     actor_label=actor_label or (actor.name if actor else ""), entity=entity,
                     entity_id=str(entity_id), summary=summary or {})
    session.add(entry)
    return entry
