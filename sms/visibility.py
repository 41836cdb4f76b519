"""Who sees which SMS message (the outbox and the inbound log), for GET /api/v1/messages and the dashboard's
短信 page alike: the permission table's messages/read row (core.domain.access). A message is visible when
it concerns an area in the reader's subtrees (`area_id`) or was sent to / received from a member assigned
there; a global admin sees everything. The log holds residents' numbers, so a reader of nothing is refused.
"""
from __future__ import annotations

from sqlalchemy import exists, or_, select

from core.domain.access import readable_scope, roles_for
from core.domain.errors import Forbidden
from core.models import Area, Assignment


def message_filter(principal, area_col, member_col):
    """A SQL condition on a message table's area and member columns; None means "everything"."""
    if principal.is_global_admin:
        return None
    paths = readable_scope(principal, "messages")
    if not paths:
        raise Forbidden("the message log is for leaders, supervisors and admins", code="role_not_permitted",
                        details={"roles_allowed": sorted(roles_for("messages", "read"))})
    in_paths = or_(*[Area.path.startswith(p) for p in paths])
    by_area = exists(select(Area.id).where(Area.id == area_col, in_paths))
    by_member = exists(select(Assignment.id).join(Area, Area.id == Assignment.area_id)
                       .where(Assignment.member_id == member_col, in_paths))
    return or_(by_area, by_member)
