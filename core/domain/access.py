"""Who may read and write what: ONE permission table, consulted by the API, device sync (pull and push),
SMS commands, pages and exports.

The table, `PERMISSIONS`, maps (collection, action) to a `Rule`: the roles that may do it and the scope the
roles reach. Roles held on an area reach down its whole subtree (a community leader's assignment on
community C covers every grid in C and nothing outside it); a global admin (admin with no area) reaches
everything. Scopes:

- ``subtree``  the listed roles, over the subtrees of the areas where they hold them;
- ``global``   only a grant with no area (a global admin);
- ``own``      every member over her own records (tokens, password), plus the listed roles' subtrees;
- ``public``   no token (login, health, webhooks checked by signature).

The small API everyone else calls (engineers building pages: start here):

    can(actor, action, collection, area=None) -> bool      # area None = "everywhere" (global grant needed)
    require(actor, action, collection, area=None)          # the same, raising Forbidden (403 JSON shape)
    roles_for(collection, action) -> frozenset[str]
    readable_scope(actor, collection) -> list[str]         # Area.path prefixes; [""] = everything; [] = nothing
    scope_filter(actor, collection, path_column, action="read")   # SQL condition for a query
    may_see_phones(actor, area=None) -> bool               # residents' numbers: only message-log readers

The table is data: it knows no HTTP. server/http/access.py maps every HTTP operation to its row
(`ENDPOINTS`) and turns away, before the view runs, a token that holds none of a write row's roles
anywhere; the view then checks the area with `require`/`Principal.require`, and filters reads to
`readable_scope`.

Older names (`Principal.require`, `require_admin`, `can_act_on_incident`, `ACT_ON_INCIDENT`) keep working
as thin wrappers over the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, or_

from core.domain.errors import Forbidden
from core.models import Area, Device, LEADER_ROLES, Member

# --- the roles, grouped --------------------------------------------------------------------------------
ADMIN = frozenset({"admin"})
LEADERS = frozenset(LEADER_ROLES)
STAFF = LEADERS | {"supervisor", "admin"}                     # leaders, supervisors, admins
READERS = STAFF | {"patroller"}                                # read their areas' records
WORKERS = READERS                                              # record patrols, report problems
SCHEDULERS = frozenset({"admin", "district_leader", "subdistrict_leader", "community_leader"})
REPORT_MAKERS = frozenset({"admin", "subdistrict_leader", "district_leader"})
EVERYONE = READERS | {"volunteer"}
# Volunteers (红袖标志愿者) report problems by SMS; they do not browse records, phones or reports.

SUBTREE, GLOBAL, OWN, PUBLIC = "subtree", "global", "own", "public"


@dataclass(frozen=True)
class Rule:
    roles: frozenset
    scope: str = SUBTREE


def _r(roles, scope=SUBTREE) -> Rule:
    return Rule(frozenset(roles), scope)


PERMISSIONS: dict[tuple[str, str], Rule] = {
    # reference data and the hierarchy
    ("areas", "read"): _r(READERS), ("areas", "create"): _r(ADMIN), ("areas", "update"): _r(ADMIN),
    ("areas", "delete"): _r(ADMIN),
    ("categories", "read"): _r(READERS), ("categories", "create"): _r(ADMIN, GLOBAL),
    ("categories", "update"): _r(ADMIN, GLOBAL), ("categories", "delete"): _r(ADMIN, GLOBAL),
    ("schedules", "read"): _r(READERS), ("schedules", "create"): _r(SCHEDULERS),
    ("schedules", "update"): _r(SCHEDULERS), ("schedules", "delete"): _r(SCHEDULERS),
    # people and their credentials
    ("members", "read"): _r(READERS), ("members", "create"): _r(ADMIN), ("members", "update"): _r(ADMIN),
    ("members", "delete"): _r(ADMIN), ("members", "grant"): _r(ADMIN),
    ("roster", "import"): _r(ADMIN),
    ("devices", "read"): _r(READERS), ("devices", "create"): _r(ADMIN), ("devices", "delete"): _r(ADMIN),
    ("devices", "pair"): _r(STAFF),                  # a one-time pairing code for a member (core.domain.pairing)
    ("credentials", "read"): _r(ADMIN, OWN), ("credentials", "create"): _r(ADMIN, OWN),
    ("credentials", "delete"): _r(ADMIN, OWN), ("credentials", "login"): _r((), PUBLIC),
    ("audit", "read"): _r(ADMIN, GLOBAL),
    # field work
    ("sites", "read"): _r(READERS), ("sites", "create"): _r(WORKERS), ("sites", "update"): _r(STAFF),
    ("sites", "delete"): _r(STAFF),
    ("sites", "inspect"): _r(WORKERS),               # an inspection; a device's edit of a site is one too
    ("patrols", "read"): _r(READERS), ("patrols", "create"): _r(WORKERS), ("patrols", "create_for_others"): _r(STAFF),
    ("patrols", "update"): _r(WORKERS), ("patrols", "update_others"): _r(STAFF), ("patrols", "delete"): _r(STAFF),
    ("incidents", "read"): _r(READERS), ("incidents", "create"): _r(WORKERS),
    ("incidents", "update"): _r(WORKERS),            # correct facts: description, place, category
    ("incidents", "set_handling"): _r(STAFF),        # handling class and promised date (the deadline)
    ("incidents", "handle"): _r(WORKERS), ("incidents", "escalate"): _r(WORKERS),
    ("incidents", "note"): _r(WORKERS), ("incidents", "acknowledge"): _r(STAFF), ("incidents", "close"): _r(STAFF),
    ("incidents", "reopen"): _r(STAFF), ("incidents", "reject"): _r(STAFF), ("incidents", "reassign"): _r(STAFF),
    ("incidents", "delete"): _r(STAFF),
    # the classifier's lexicon is one for the whole installation: only an installation-wide role changes it
    ("lexicon", "read"): _r(STAFF), ("lexicon", "create"): _r(ADMIN, GLOBAL), ("lexicon", "delete"): _r(ADMIN, GLOBAL),
    ("incident_events", "read"): _r(READERS), ("incident_events", "create"): _r(WORKERS),
    ("incident_events", "delete"): _r(STAFF),
    # residents' phone numbers and the SMS message log: who may read the log may see the numbers
    ("messages", "read"): _r(STAFF), ("reporter_phones", "read"): _r(STAFF),
    ("sms", "receive"): _r((), PUBLIC),
    # devices' sync round trip: every collection is judged row by row with the rules above
    ("sync", "sync"): _r(EVERYONE),
    # workers and exports
    ("reports", "read"): _r(STAFF), ("reports", "create"): _r(REPORT_MAKERS), ("reports", "export"): _r(STAFF),
    ("alerts", "read"): _r(EVERYONE, OWN), ("alerts", "acknowledge"): _r(EVERYONE, OWN),
    ("worker_health", "read"): _r({"admin", "supervisor"}), ("worker_health", "details"): _r(ADMIN, GLOBAL),
    ("windows", "read"): _r(STAFF), ("rq_dashboard", "manage"): _r(ADMIN, GLOBAL),
    ("health", "read"): _r((), PUBLIC),
    ("dashboard", "use"): _r(STAFF),                 # the leaders' pages (web/dashboard); each page checks its rows
}

# What a device pulls, collection by collection, is judged by the same reading rows as the API.
SYNCED_COLLECTIONS = ("patrols", "sites", "incidents", "incident_events", "areas", "members", "categories",
                      "schedules")
# What a device's push of (collection, op) is judged by.
SYNC_WRITE_ACTIONS = {("patrols", "create"): "create", ("patrols", "update"): "update",
                      ("patrols", "update_others"): "update_others", ("sites", "create"): "create",
                      ("sites", "update"): "inspect", ("incidents", "create"): "create",
                      ("incident_events", "create"): "create"}

def rule(collection: str, action: str) -> Rule:
    try:
        return PERMISSIONS[(collection, action)]
    except KeyError:
        raise KeyError(f"the permission table has no row for {collection}/{action}") from None


def roles_for(collection: str, action: str) -> frozenset:
    return rule(collection, action).roles


# Incident actions as the older callers know them (role sets), read from the table.
ACT_ON_INCIDENT = {action: set(roles_for("incidents", action)) for action in
                   ("handle", "escalate", "note", "acknowledge", "close", "reopen", "reject", "reassign", "update",
                    "set_handling")}


@dataclass
class Principal:
    member: Member
    kind: str  # "staff" or "device"
    device: Device | None = None
    grants: list[tuple[str, str]] = field(default_factory=list)  # (role, area path); path "" = everywhere

    @classmethod
    def for_member(cls, member: Member, kind: str = "staff", device: Device | None = None) -> "Principal":
        grants = []
        if member.active and member.deleted_at is None:  # a deactivated member holds no role anywhere
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

    def roles_over(self, area: Area | None) -> set[str]:
        """Roles covering `area`; area None means everywhere, which only a grant with no area covers."""
        if area is None:
            return {role for role, path in self.grants if path == ""}
        return {role for role, path in self.grants if area.path.startswith(path)}

    def has_role(self, *roles: str) -> bool:
        return any(role in roles for role, _ in self.grants)

    def in_scope(self, area: Area) -> bool:
        return bool(self.roles_over(area))

    def scope_paths(self, roles: set[str] | frozenset | None = None) -> list[str]:
        paths = sorted({path for role, path in self.grants if roles is None or role in roles})
        return [""] if "" in paths else paths

    def area_filter(self, path_column, roles: set[str] | frozenset | None = None):
        """A SQL condition on an Area.path column limiting rows to this principal's subtrees."""
        paths = self.scope_paths(roles)
        if "" in paths:
            return path_column.isnot(None)
        if not paths:
            return false()
        return or_(*[path_column.startswith(p) for p in paths])

    def require(self, area: Area | None, roles, action: str) -> None:
        held = self.roles_over(area)
        where = area.code if area is not None else "every area"
        if not held:
            raise Forbidden(f"{where} is outside your areas", code="out_of_scope",
                            details={"area": area.code if area is not None else None, "action": action})
        if not held & set(roles):
            raise Forbidden(f"your role ({', '.join(sorted(held))}) may not {action} in {where}",
                            code="role_not_permitted",
                            details={"area": area.code if area is not None else None, "action": action,
                                     "roles_allowed": sorted(roles)})

    def require_admin(self, area: Area | None = None, action: str = "manage") -> None:
        if self.is_global_admin:
            return
        if area is None or "admin" not in self.roles_over(area):
            raise Forbidden(f"only an admin may {action}" + (f" in {area.code}" if area else ""),
                            code="role_not_permitted", details={"action": action, "roles_allowed": ["admin"]})


# --- the table's API -----------------------------------------------------------------------------------

def can(actor: Principal, action: str, collection: str, area: Area | None = None) -> bool:
    """May `actor` do `action` on `collection` in `area` (None: everywhere, or a global-only action)?"""
    row = rule(collection, action)
    if row.scope == PUBLIC:
        return True
    if row.scope == GLOBAL:
        return bool(actor.roles_over(None) & row.roles)
    return bool(actor.roles_over(area) & row.roles)


def require(actor: Principal, action: str, collection: str, area: Area | None = None, what: str | None = None) -> None:
    """`can` or raise Forbidden (out_of_scope / role_not_permitted) naming the roles allowed."""
    if can(actor, action, collection, area):
        return
    row = rule(collection, action)
    if row.scope == GLOBAL:
        raise Forbidden(f"only a global admin may {what or action + ' ' + collection}", code="role_not_permitted",
                        details={"action": action, "collection": collection, "roles_allowed": sorted(row.roles)})
    actor.require(area, row.roles, what or f"{action} {collection}")


def readable_scope(actor: Principal, collection: str, action: str = "read") -> list[str]:
    """Area.path prefixes whose rows of `collection` the actor may read: [""] everything, [] nothing."""
    row = rule(collection, action)
    if row.scope == GLOBAL:
        return [""] if actor.roles_over(None) & row.roles else []
    return actor.scope_paths(row.roles)


def sync_scope(actor: Principal) -> list[str]:
    """The area paths a device pulls: the subtrees of the roles that may read EVERY synced collection
    (one scope per device keeps the pull one query; it never reaches beyond any collection's reading rule).
    A member whose roles read nothing (a volunteer) pulls nothing."""
    roles = frozenset.intersection(*(rule(c, "read").roles for c in SYNCED_COLLECTIONS))
    return actor.scope_paths(roles)


def scope_filter(actor: Principal, collection: str, path_column, action: str = "read"):
    return actor.area_filter(path_column, rule(collection, action).roles)


def may_see_phones(actor: Principal | None, area: Area | None = None) -> bool:
    """Residents' phone numbers: only for those who may read the SMS message log (of that area)."""
    if actor is None:
        return False
    if area is None:
        return bool(readable_scope(actor, "reporter_phones"))
    return can(actor, "read", "reporter_phones", area)


def holds_any(actor: Principal, collection: str, action: str) -> bool:
    """Does the actor hold one of the row's roles anywhere? (The coarse gate before a view runs.)"""
    row = rule(collection, action)
    if row.scope in (PUBLIC, OWN):
        return True
    if row.scope == GLOBAL:
        return bool(actor.roles_over(None) & row.roles)
    return actor.has_role(*row.roles)


def require_any(actor: Principal, action: str, collection: str, what: str | None = None) -> None:
    """`holds_any` or Forbidden: for rows about no area (the installation's lexicon is read by every staff role,
    wherever it is held)."""
    if not holds_any(actor, collection, action):
        raise Forbidden(f"your roles may not {what or action + ' ' + collection}", code="role_not_permitted",
                        details={"collection": collection, "action": action,
                                 "roles_allowed": sorted(rule(collection, action).roles)})


def can_act_on_incident(principal: Principal, incident, action: str) -> None:
    """Raise Forbidden unless the principal may perform `action` on the incident (by responsible area
    or the area where it was found, whichever grants more)."""
    for area in (incident.responsible_area, incident.area):
        if can(principal, action, "incidents", area):
            return
    # Name the area where the actor does hold a role (role_not_permitted), else the responsible one.
    judged = incident.area if principal.in_scope(incident.area) else incident.responsible_area
    require(principal, action, "incidents", judged)


def may_grant(principal: Principal, role: str, area: Area | None) -> bool:
    """An admin may grant roles within her subtrees; only a global admin grants anything everywhere."""
    return can(principal, "grant", "members", area)


def require_may_grant(principal: Principal, assignments: list[tuple[str, Area | None]], action: str) -> None:
    """Every (role, area) of `assignments` — including the area-less "everywhere" ones — must be grantable."""
    for role, area in assignments:
        if not may_grant(principal, role, area):
            where = area.code if area is not None else "everywhere (no area)"
            raise Forbidden(f"you may not {action}: {role} in {where} is beyond your admin rights",
                            code="role_not_permitted",
                            details={"role": role, "area": area.code if area is not None else None,
                                     "roles_allowed": ["admin"]})
