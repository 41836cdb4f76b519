"""Roster import: communities, grids, people and their roles from the sheet a sub-district office keeps.

Two passes. `plan_roster` reads every row and checks it against the file and the database without writing
anything, so a dry run reports every bad row at once. `apply_plan` writes a clean plan. A commit of a plan
with any error writes nothing (all or nothing): clerks fix the sheet and import it again, and a re-import
of the same sheet changes nothing (rows already in the database count as unchanged).

Which area a row's role lands on follows the sheet's shape: a leader word (组长, 副组长) goes to the deepest
area the row names (grid, else community, else the sub-district); 社区书记 and friends always go to the
community; 街道 roles to the sub-district given as the import's parent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
import phonenumbers

from core.domain import audit
from core.domain.areas import create_area
from core.domain.phones import normalize_phone
from core.domain.roster_files import RosterTable, simplify
from core.domain.errors import DomainError, Invalid
from core.domain.access import readable_scope
from core.domain.place_names import PlaceNames
from core.domain.scoping import authority_over_member
from core.models import Area, Assignment, LEADER_ROLE_FOR_KIND, Member

# word -> (role, where, deputy). where: "deepest" | "grid" | "community" | "subdistrict" | "parent".
# role "leader" means the leader role of whichever area kind the row lands on.
ROLE_WORDS: dict[str, tuple[str, str, bool]] = {}


def _words(words: str, role: str, where: str, deputy: bool = False) -> None:
    for word in words.split():
        ROLE_WORDS[word.lower()] = (role, where, deputy)


_words("网格员 巡查员 专职网格员 兼职网格员 巡查队员 巡逻员 patroller", "patroller", "grid")
_words("组长 网格长 负责人 leader", "leader", "deepest")
_words("副组长 副网格长 deputy", "leader", "deepest", deputy=True)
_words("grid_leader 三级网格长 网格组长", "grid_leader", "grid")
_words("副网格组长", "grid_leader", "grid", deputy=True)
_words("社区书记 社区主任 社区负责人 社区网格长 二级网格长 社区组长 community_leader", "community_leader", "community")
_words("社区副书记 社区副主任 社区副组长", "community_leader", "community", deputy=True)
_words("街道书记 街道主任 街道办主任 街道办事处主任 街道负责人 一级网格长 街道网格长 街道组长 subdistrict_leader",
       "subdistrict_leader", "subdistrict")
_words("街道副书记 街道副主任 街道办副主任 街道副组长", "subdistrict_leader", "subdistrict", deputy=True)
_words("督查员 督导员 监督员 督查 supervisor", "supervisor", "deepest")
_words("志愿者 红袖标 红袖标志愿者 volunteer", "volunteer", "deepest")
_words("管理员 admin", "admin", "parent")


@dataclass
class PlannedArea:
    key: tuple
    name: str
    kind: str
    code: str
    parent_key: tuple | None  # None = the import's parent area
    existing: Area | None = None


@dataclass
class PlannedRow:
    line: int
    name: str
    phone: str
    role: str
    rank: int
    area_key: tuple


@dataclass
class RosterPlan:
    parent: Area
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    areas: dict[tuple, PlannedArea] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # phone -> name, new members only
    assignments: list[PlannedRow] = field(default_factory=list)
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    sheet: str | None = None  # the worksheet of the row being read (multi-sheet workbooks only)
    skipped_sheets: list[dict] = field(default_factory=list)

    def error(self, line: int, field_name: str, message: str, value: str = "") -> None:
        entry = {"line": line, "field": field_name, "message": message, "value": value}
        if self.sheet:
            entry["sheet"] = self.sheet
        self.errors.append(entry)

    def place(self, line: int) -> str:
        return f"sheet {self.sheet} line {line}" if self.sheet else f"line {line}"

    def new_areas(self, kind: str) -> list[dict]:
        out = []
        for planned in self.areas.values():
            if planned.existing is None and planned.kind == kind:
                parent = self.areas.get(planned.parent_key) if planned.parent_key else None
                out.append({"code": planned.code, "name": planned.name,
                            "parent": parent.code if parent else self.parent.code})
        return out

    def summary(self) -> dict:
        return {"communities": self.new_areas("community"), "grids": self.new_areas("grid"),
                "members": [{"name": n, "phone": p} for p, n in self.members.items()],
                "assignments": len(self.assignments)}

    def report(self) -> dict:
        report = {"ok": self.ok, "rows": self.rows, "errors": self.errors, "would_create": self.summary(),
                  "unchanged": self.unchanged, "parent": self.parent.code}
        if self.skipped_sheets:
            report["sheets_skipped"] = self.skipped_sheets
        return report


class _CodeAllocator:
    """Codes for new areas: the parent's code plus the next free number (HD03 → HD03-14 → HD03-14-1)."""

    def __init__(self, session: Session):
        self.taken = set(session.scalars(select(Area.code)))

    def next(self, parent_code: str) -> str:
        n = 1
        while f"{parent_code}-{n}" in self.taken:
            n += 1
        code = f"{parent_code}-{n}"
        self.taken.add(code)
        return code


def resolve_parent(session: Session, code: str | None) -> Area:
    """The sub-district the roster belongs to; may be left out when the installation has only one."""
    if code:
        code = code.strip()
        area = session.scalar(select(Area).where(Area.code == code.upper(), Area.deleted_at.is_(None)))
        if area is None and code.isascii() and code.isdigit() and 0 < int(code) < 2 ** 31:
            area = session.get(Area, int(code))  # like the rest of the API: an area by id or by code
            area = area if area is not None and area.deleted_at is None else None
        if area is None:
            raise Invalid(f"no area with code {code}", details={"parent": [f"No area with code {code!r}."]})
        return area
    candidates = list(session.scalars(select(Area).where(Area.kind == "subdistrict").limit(2)))
    if len(candidates) != 1:
        raise Invalid("say which sub-district the roster belongs to", code="roster_parent_needed",
                      details={"parent": ["Give the sub-district's area code (parent=...)."]})
    return candidates[0]


def _match_child(session: Session, parent: Area, text: str) -> Area | None:
    """An existing child area named or coded as written in the sheet."""
    return session.scalar(select(Area).where(Area.parent_id == parent.id, Area.deleted_at.is_(None),
                                             (Area.name == text) | (Area.code == text.upper())))


def _roster_phone(raw: str, region: str) -> str:
    """Stricter than elsewhere: a sheet's typo (a digit short, a hotline) must be caught before people are
    created, so the number must be valid (an assigned range), not merely of a possible length."""
    try:
        e164 = normalize_phone(raw, region)
    except Invalid:
        return ""
    return e164 if phonenumbers.is_valid_number(phonenumbers.parse(e164)) else ""


def plan_roster(session: Session, table: RosterTable, parent: Area, region: str = "CN",
                principal=None) -> RosterPlan:
    """`principal`: the importing admin (core.domain.access.Principal); None is the shell's operator, who
    reaches everywhere. A phone that belongs to someone the importer may not manage (a member with a role
    outside her admin subtree) is an error that names nobody (an area admin must neither learn who is
    behind a number nor pull a member of another district into her area). Every new community and grid
    name is checked as a place name (core.domain.place_names: not generic, unique where it routes, not
    shadowing places outside her subtree), against the database and the sheet's other new areas."""
    plan = RosterPlan(parent=parent, skipped_sheets=list(table.skipped_sheets))
    within = readable_scope(principal, "roster", "import") if principal is not None else None

    def manages(member: Member) -> bool:
        return principal is None or authority_over_member(principal, member, "update", "members")

    codes = _CodeAllocator(session)
    places = PlaceNames(session)
    planned_paths: dict[tuple, str] = {}
    line_now = [0]
    phone_seen: dict[str, tuple[str, str]] = {}  # phone -> (where first seen, name)
    assignment_seen: dict[tuple, str] = {}
    rank_next: dict[tuple, int] = {}
    leader_line: dict[tuple, tuple[str, str]] = {}

    def area_for(kind: str, text: str, parent_key: tuple | None, parent_area: Area | None) -> tuple:
        key = (kind, parent_key, text)
        if key not in plan.areas:
            existing = _match_child(session, parent_area, text) if parent_area is not None else None
            parent_code = parent_area.code if parent_area is not None else plan.areas[parent_key].code
            plan.areas[key] = PlannedArea(key=key, name=text, kind=kind, parent_key=parent_key, existing=existing,
                                          code=existing.code if existing else codes.next(parent_code))
            parent_path = parent_area.path if parent_area is not None else planned_paths[parent_key]
            planned_paths[key] = existing.path if existing else f"{parent_path}+{len(planned_paths)}/"
            if existing is None:
                try:
                    places.check(text, path=planned_paths[key], within=within, field=kind)
                    places.claim(text, path=planned_paths[key], label=f"{text} ({plan.place(line_now[0])})")
                except DomainError as exc:
                    plan.error(line_now[0], kind, exc.details.get(kind, [exc.message])[0], text)
        return key

    for line, row in table.rows:
        line_now[0] = line
        plan.rows += 1
        plan.sheet = row.get("_sheet")
        errors_before = len(plan.errors)
        name, phone_raw = row.get("name", ""), row.get("phone", "")
        community, grid = row.get("community", ""), row.get("grid", "")
        role_word = simplify(row.get("role", "")).lower().replace(" ", "")
        if not name:
            plan.error(line, "name", "The name is empty.")
        phone = ""
        if not phone_raw:
            plan.error(line, "phone", "The phone number is empty.")
        else:
            phone = _roster_phone(phone_raw, region)
            if not phone:
                plan.error(line, "phone", f"Not a valid phone number: {phone_raw!r}.", phone_raw)
        mapped = ROLE_WORDS.get(role_word)
        if mapped is None:
            plan.error(line, "role", f"Unknown role {row.get('role', '')!r}; use e.g. 网格员, 组长, 副组长, 社区书记.",
                       row.get("role", ""))
            continue
        role, where, deputy = mapped
        if grid and not community:
            plan.error(line, "community", "A grid needs its community.", grid)
            continue
        if where == "grid" and not grid:
            plan.error(line, "grid", f"{row.get('role')} needs a grid.")
            continue
        if where == "community" and not community:
            plan.error(line, "community", f"{row.get('role')} needs a community.")
            continue
        # Which area the role lands on.
        community_key = area_for("community", community, None, parent) if community else None
        grid_key = None
        if grid and where in ("grid", "deepest"):
            grid_key = area_for("grid", grid, community_key, plan.areas[community_key].existing)
        if len(plan.errors) > errors_before:
            continue
        if where in ("subdistrict", "parent") or (where == "deepest" and not community):
            area_key, area_kind = None, parent.kind
        elif where == "community" or (where == "deepest" and not grid_key):
            area_key, area_kind = community_key, "community"
        else:
            area_key, area_kind = grid_key, "grid"
        if role == "leader":
            role = LEADER_ROLE_FOR_KIND.get(area_kind, "")
            if not role:
                plan.error(line, "role", f"{parent.code} is a {parent.kind}; it has no 组长 role.", row.get("role", ""))
                continue
        if role == "subdistrict_leader" and parent.kind != "subdistrict":
            plan.error(line, "role", f"{parent.code} is not a sub-district.", row.get("role", ""))
            continue
        if len(plan.errors) > errors_before:
            continue

        # The same phone is the same person: another role is fine, another name is not.
        if phone in phone_seen and phone_seen[phone][1] != name:
            first_place, first_name = phone_seen[phone]
            plan.error(line, "phone", f"{phone} is also on {first_place} for {first_name}.", phone_raw)
            continue
        existing_member = session.scalar(select(Member).where(Member.phone == phone))
        if existing_member is not None and not manages(existing_member):
            plan.error(line, "phone", f"{phone} belongs to a member outside your areas; an admin over their "
                       "areas must add this role.", phone_raw)
            continue
        if existing_member is not None and existing_member.name != name:
            plan.error(line, "phone", f"{phone} already belongs to {existing_member.name}.", phone_raw)
            continue
        if existing_member is not None and (existing_member.deleted_at is not None or not existing_member.active):
            # A deliberate removal is not undone by an old sheet that still lists the person.
            plan.error(line, "phone", f"{phone} belongs to {existing_member.name}, who was removed or deactivated; "
                       "take the row out or reactivate them first.", phone_raw)
            continue
        phone_seen.setdefault(phone, (plan.place(line), name))

        area_obj = parent if area_key is None else plan.areas[area_key].existing
        assignment_key = (phone, area_key, role)
        if assignment_key in assignment_seen:
            plan.error(line, "role", f"Repeats {assignment_seen[assignment_key]}.", row.get("role", ""))
            continue
        assignment_seen[assignment_key] = plan.place(line)
        if existing_member is not None and area_obj is not None and session.scalar(
                select(Assignment.id).where(Assignment.member_id == existing_member.id,
                                            Assignment.area_id == area_obj.id, Assignment.role == role)):
            plan.unchanged += 1
            continue

        # Leader order: one 组长 (rank 1) per area and role; deputies take the next free rank (2, 3, …).
        rank = 1
        slot = (area_key, role)
        if role.endswith("_leader"):
            if slot not in rank_next:
                existing_ranks = list(session.scalars(select(Assignment.rank).where(
                    Assignment.area_id == area_obj.id, Assignment.role == role))) if area_obj is not None else []
                rank_next[slot] = max([1, *existing_ranks]) + 1
                if 1 in existing_ranks:
                    leader_line[slot] = ("", "")
            if deputy:
                rank = rank_next[slot]
                rank_next[slot] += 1
            elif slot in leader_line:
                first_place, first_name = leader_line[slot]
                where_text = f"{first_place} ({first_name})" if first_place else "the database"
                plan.error(line, "role", f"This area already has a 组长 in {where_text}; make one a 副组长.",
                           row.get("role", ""))
                continue
            else:
                leader_line[slot] = (plan.place(line), name)
        if existing_member is None:
            plan.members.setdefault(phone, name)
        plan.assignments.append(PlannedRow(line=line, name=name, phone=phone, role=role, rank=rank,
                                           area_key=area_key))
    return plan


def apply_plan(session: Session, plan: RosterPlan, *, channel: str, actor: Member | None = None,
               actor_label: str = "") -> dict:
    """Write a clean plan. Flushes, never commits: the caller's transaction makes it all or nothing."""
    if not plan.ok:
        raise RosterRejected(plan)
    created_areas: dict[tuple, Area] = {}

    def area_of(key: tuple | None) -> Area:
        if key is None:
            return plan.parent
        planned = plan.areas[key]
        if planned.existing is not None:
            return planned.existing
        if key not in created_areas:
            parent = area_of(planned.parent_key)
            created_areas[key] = create_area(session, code=planned.code, name=planned.name, kind=planned.kind,
                                             parent_id=parent.id, check_name=False)  # the plan checked them all
        return created_areas[key]

    members = {m.phone: m for m in session.scalars(select(Member).where(
        Member.phone.in_({row.phone for row in plan.assignments})))}
    granted = []  # every grant in the audit entry: who, role AND area
    for row in plan.assignments:
        area = area_of(row.area_key)
        granted.append({"name": row.name, "role": row.role, "area": area.code, "rank": row.rank})
        member = members.get(row.phone)
        if member is None:
            member = members[row.phone] = Member(name=row.name, phone=row.phone)
            session.add(member)
        member.assignments.append(Assignment(role=row.role, area_id=area.id, rank=row.rank))
    session.flush()
    summary = plan.summary()
    counts = {"communities": len(summary["communities"]), "grids": len(summary["grids"]),
              "members": len(summary["members"]), "assignments": summary["assignments"], "rows": plan.rows,
              "grants": granted}
    audit.record(session, "roster.import", channel=channel, actor=actor, actor_label=actor_label,
                 entity="area", entity_id=plan.parent.id, summary=counts)
    return {**plan.report(), "committed": True, "created": summary}


class RosterRejected(Invalid):
    """A commit with bad rows: 422 with every row's error, nothing written."""

    code = "roster_invalid"

    def __init__(self, plan: RosterPlan):
        super().__init__(f"{len(plan.errors)} row(s) have errors; nothing was imported",
                         details={"errors": plan.errors, "rows": plan.rows, "ok": False})


def import_roster(session: Session, table: RosterTable, parent: Area, *, commit: bool, channel: str,
                  actor: Member | None = None, actor_label: str = "", region: str = "CN", principal=None) -> dict:
    """Plan (and with commit=True apply) a roster for `principal` (see plan_roster; None = the shell)."""
    plan = plan_roster(session, table, parent, region, principal)
    if not commit:
        return {**plan.report(), "committed": False}
    return apply_plan(session, plan, channel=channel, actor=actor, actor_label=actor_label)
