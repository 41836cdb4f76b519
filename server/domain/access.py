"""Who may see and do what: roles held on an area reach down its whole subtree.

A community leader's assignment on community C gives her the community_leader role over every grid in C
and nothing outside it. A global admin (admin assignment with no area) reaches everything.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, or_

from server.errors import Forbidden
from server.models import Area, Device, LEADER_ROLES, Member

ACT_ON_INCIDENT = {
    "handle": {"patroller", *LEADER_ROLES, "supervisor", "admin"},
    "escalate": {"patroller", *LEADER_ROLES, "supervisor", "admin"},
    "note": {"patroller", *LEADER_ROLES, "supervisor", "admin"},
    "acknowledge": {*LEADER_ROLES, "supervisor", "admin"},
    "close": {*LEADER_ROLES, "supervisor", "admin"},
    "reopen": {*LEADER_ROLES, "supervisor", "admin"},
    "reject": {*LEADER_ROLES, "supervisor", "admin"},
    "reassign": {*LEADER_ROLES, "supervisor", "admin"},
    "update": {"patroller", *LEADER_ROLES, "supervisor", "admin"},
}


@dataclass
class Principal:
    member: Member
    kind: str  # "staff" or "device"
    device: Device | None = None
    grants: list[tuple[str, str]] = field(default_factory=list)  # (role, area path); path "" = everywhere

    @classmethod
    def for_member(cls, member: Member, kind: str = "staff", device: Device | None = None) -> "Principal":
        grants = []
        for assignment in member.assignments:
            if assignment.area_id is None:
                if assignment.role == "admin":
                    grants.append(("admin", ""))
                continue
            grants.append((assignment.role, assignment.area.path))
        return cls(member=member, kind=kind, device=device, grants=grants)

    @property
    def is_global_admin(self) -> bool:
        return ("admin", "") in self.grants

    def roles_over(self, area: Area) -> set[str]:
        return {role for role, path in self.grants if area.path.startswith(path)}

    def has_role(self, *roles: str) -> bool:
        return any(role in roles for role, _ in self.grants)

    def in_scope(self, area: Area) -> bool:
        return bool(self.roles_over(area))

    def scope_paths(self, roles: set[str] | None = None) -> list[str]:
        return sorted({path for role, path in self.grants if roles is None or role in roles})

    def area_filter(self, path_column, roles: set[str] | None = None):
        """A SQL condition on an Area.path column limiting rows to this principal's subtrees."""
        paths = self.scope_paths(roles)
        if "" in paths:
            return path_column.isnot(None)
        if not paths:
            return false()
        return or_(*[path_column.startswith(p) for p in paths])

    def require(self, area: Area, roles: set[str] | tuple[str, ...], action: str) -> None:
        held = self.roles_over(area)
        if not held:
            raise Forbidden(f"{area.code} is outside your areas", code="out_of_scope",
                            details={"area": area.code, "action": action})
        if not held & set(roles):
            raise Forbidden(f"your role ({', '.join(sorted(held))}) may not {action} in {area.code}",
                            code="role_not_permitted",
                            details={"area": area.code, "action": action, "roles_allowed": sorted(roles)})

    def require_admin(self, area: Area | None = None, action: str = "manage") -> None:
        if self.is_global_admin:
            return
        if area is None or "admin" not in self.roles_over(area):
            raise Forbidden(f"only an admin may {action}" + (f" in {area.code}" if area else ""),
                            code="role_not_permitted", details={"action": action, "roles_allowed": ["admin"]})


def can_act_on_incident(principal: Principal, incident, action: str) -> None:
    """Raise Forbidden unless the principal may perform `action` on the incident (by responsible area
    or the area where it was found, whichever grants more)."""
    allowed = ACT_ON_INCIDENT[action]
    for area in (incident.responsible_area, incident.area):
        if principal.roles_over(area) & allowed:
            return
    principal.require(incident.responsible_area, allowed, action)
