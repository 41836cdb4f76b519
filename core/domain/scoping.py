"""Who sees and who manages which member, and the area-scope checks: one rule for the API, the dashboard
and the CLI.

Roles held on an area reach its whole subtree (core.domain.access.Principal). A record belongs to an
area (a site, patrol or incident through its areas; a member through her assignments), and a staff member
sees it when one of her roles covers that area. Out-of-scope requests answer 403 `out_of_scope`, for lists
(a filter naming an area outside your subtree) and for single records alike: the codes and ids of areas
are not secrets inside one office, and a clear 403 is easier to act on than a puzzling 404.
"""
from __future__ import annotations

from sqlalchemy import exists, select

from core.domain.access import READERS as READ_ROLES
from core.domain.errors import Forbidden
from core.models import Area, Assignment, Member


def require_in_scope(principal, area: Area, action: str = "view", roles=READ_ROLES) -> None:
    principal.require(area, roles, action)


def member_filter(principal):
    """SQL condition: members with an assignment somewhere in the principal's subtrees."""
    if principal.is_global_admin:
        return Member.id.isnot(None)
    return exists(select(Assignment.id).join(Area, Area.id == Assignment.area_id)
                  .where(Assignment.member_id == Member.id, principal.area_filter(Area.path, READ_ROLES)))


def member_visible(principal, member: Member) -> bool:
    if principal.is_global_admin or member.id == principal.member.id:
        return True
    return any(a.area is not None and bool(principal.roles_over(a.area) & READ_ROLES) for a in member.assignments)


def require_member_visible(principal, member: Member) -> None:
    if not member_visible(principal, member):
        raise Forbidden(f"member {member.id} works outside your areas", code="out_of_scope",
                        details={"member_id": member.id})


def require_admin_over_member(principal, member: Member, action: str) -> None:
    """Global admins manage everyone; an area admin manages members whose areas all lie in her subtree."""
    if principal.is_global_admin:
        return
    if not member.assignments or any(a.area_id is None for a in member.assignments):
        principal.require_admin(None, action)
    for assignment in member.assignments:
        principal.require_admin(assignment.area, action)


def require_admin_over_areas(principal, areas, action: str) -> None:
    """Admin over EVERY area named; None ("everywhere", e.g. a root area's missing parent) needs a global
    admin — it is never dropped from the check (that is how an area admin once became a global one)."""
    if principal.is_global_admin:
        return
    areas = list(areas) or [None]
    for area in areas:
        principal.require_admin(area, action)
