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

from core.domain.access import READERS as READ_ROLES, can, require, roles_for
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


def authority_over_member(principal, member: Member, action: str, collection: str) -> bool:
    """The permission table's (collection, action) row over EVERY assignment the member holds; an area-less
    assignment (a global admin), or none at all, needs a grant with no area.

    One rule for every credential (a password, a staff token, a device or a pairing code) and every change to
    a member: holding the row over one of her areas is not enough, or a grid leader could pair a phone for
    the global admin who also patrols that grid and act as her everywhere."""
    if can(principal, action, collection, None):
        return True
    return bool(member.assignments) and all(
        a.area is not None and can(principal, action, collection, a.area) for a in member.assignments)


def require_authority_over_member(principal, member: Member, action: str, collection: str, what: str) -> None:
    """`authority_over_member` or Forbidden naming the first assignment out of reach."""
    if authority_over_member(principal, member, action, collection):
        return
    for assignment in member.assignments:
        if assignment.area is not None and not can(principal, action, collection, assignment.area):
            require(principal, action, collection, assignment.area, what=what)
    raise Forbidden(f"only a global admin may {what} for this member: a role of theirs reaches every area",
                    code="role_not_permitted", details={"action": what, "collection": collection,
                                                        "roles_allowed": sorted(roles_for(collection, action))})


def require_admin_over_member(principal, member: Member, action: str) -> None:
    """Global admins manage everyone; an area admin manages members whose areas all lie in her subtree."""
    require_authority_over_member(principal, member, "update", "members", action)


def require_admin_over_areas(principal, areas, action: str) -> None:
    """Admin over EVERY area named; None ("everywhere", e.g. a root area's missing parent) needs a global
    admin — it is never dropped from the check (that is how an area admin once became a global one)."""
    if principal.is_global_admin:
        return
    areas = list(areas) or [None]
    for area in areas:
        principal.require_admin(area, action)
