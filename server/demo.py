"""Demo data shaped like a real sub-district work plan, with invented places, people and phone numbers.

One sub-district (一级网格) of a district, 13 communities (二级) with 2–8 grids (三级) each, a 组长 and a
副组长 for every community and grid, 3–5 patrollers per grid, a sub-district leader and an admin; the
category catalogue; the daily schedule and a winter campaign with 除夕/春节 heightened periods (night
windows included); key sites with fixed posts; a loose-coal ledger; incidents in different states; the
patrols and handled problems of the two weeks before last Thursday, and last Thursday's weekly report (周报)
stored for the sub-district and the district, so an office opening the demo sees a report.

Deterministic: a seeded random generator, so two loads give the same people, areas and numbers (tokens and
timestamps differ). Phone numbers are in the +86 170 0 block (+8617001xxxxxx), which libphonenumber
accepts as valid Chinese mobiles so every code path (SMS parsing included) treats them as real. That block
is not reserved for fiction — no Chinese block is — so the demo refuses to load with the Twilio backend:
with the default console backend nothing is ever sent.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from lunardate import LunarDate
from sqlalchemy import select
from sqlalchemy.orm import Session
from flask import current_app, has_app_context
from werkzeug.security import generate_password_hash

from core.domain import audit
from core.domain.areas import create_area
from core.domain.catalogue import seed_categories
from core.settings import DEFAULT_TIMEZONE
from core.domain.incidents import acknowledge, create_incident, escalate, handle, transition
from core.domain.tokens import issue_staff_token, register_device
from core.domain.weekly_reports import store_report
from core.models import (DEFAULT_WINDOWS, Area, Assignment, Category, Member, Patrol, PatrolSchedule, Site,
                           SiteInspection, utcnow)

SEED = 20161125  # the day a winter campaign of the source plans began
DEMO_DISTRICT = "CJ"
DEMO_SUBDISTRICT = "CJ05"
COMMUNITY_NAMES = ["映月", "白马", "青溪", "丹枫", "望江", "桂香", "梧桐",
                   "柳岸", "金沙", "兰亭", "翠湖", "云栖", "石桥"]
NUMERALS = "一二三四五六七八"
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志新春梅海燕文斌宁晓东雪琳凤洁浩宇俊峰亮"


class DemoAlreadyLoaded(RuntimeError):
    pass


class DemoRefused(RuntimeError):
    pass


def demo_is_loaded(session: Session) -> bool:
    return session.scalar(select(Area.id).where(Area.code == DEMO_SUBDISTRICT)) is not None


def demo_admin(session: Session) -> Member:
    return session.scalar(select(Member).join(Assignment).where(
        Assignment.role == "admin", Assignment.area_id.is_(None)).order_by(Member.id))


def winter_season(today: date) -> tuple[date, date]:
    """The 11-25 → 02-28 campaign in force now, or the next one (from March on, this year's)."""
    start_year = today.year if today.month >= 3 else today.year - 1
    return date(start_year, 11, 25), date(start_year + 1, 2, 28)


def lunar_new_year_dates(season_start: date) -> tuple[date, list[date]]:
    """除夕 and the first five days of 春节 in the season's new year."""
    new_year = LunarDate(season_start.year + 1, 1, 1)
    first = new_year.to_solar_date() if hasattr(new_year, "to_solar_date") else new_year.toSolarDate()
    return first - timedelta(days=1), [first + timedelta(days=i) for i in range(5)]


class _People:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.next_phone = 1000001

    def name(self) -> str:
        while True:
            given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used:
                self.used.add(name)
                return name

    def phone(self) -> str:
        number = f"+861700{self.next_phone:07d}"
        self.next_phone += 1
        return number


def load_demo(session: Session, *, channel: str = "cli", now: datetime | None = None) -> dict:
    """Load everything in the caller's transaction; refuse (changing nothing) if already loaded."""
    if has_app_context() and current_app.config.get("SMS_BACKEND") == "twilio":
        raise DemoRefused("the demo's phone numbers are invented; do not load it with GRIDPATROL_SMS_BACKEND=twilio")
    if demo_is_loaded(session):
        raise DemoAlreadyLoaded(f"demo data is already loaded (area {DEMO_SUBDISTRICT} exists); nothing changed")
    now = now or utcnow()
    rng = random.Random(SEED)
    people = _People(rng)
    out: dict = {"subdistrict": DEMO_SUBDISTRICT, "areas": [], "members": [], "devices": [], "staff_tokens": []}
    seed_categories(session)

    def area(code, name, kind, parent=None):
        record = create_area(session, code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
        out["areas"].append({"code": code, "name": name, "kind": kind, "parent": parent.code if parent else None})
        return record

    members_by_phone: dict[str, dict] = {}

    def person(role, where, rank=1, name=None):
        member = Member(name=name or people.name(), phone=people.phone())
        member.assignments.append(Assignment(role=role, area_id=where.id if where else None, rank=rank))
        session.add(member)
        entry = {"name": member.name, "phone": member.phone,
                 "roles": [{"role": role, "area": where.code if where else None, "rank": rank}]}
        out["members"].append(entry)
        members_by_phone[member.phone] = entry
        return member

    district = area(DEMO_DISTRICT, "澄江区", "district")
    sub = area(DEMO_SUBDISTRICT, "映月街道", "subdistrict", district)
    admin = person("admin", None, name="系统管理员")
    sub_leader = person("subdistrict_leader", sub)
    person("subdistrict_leader", sub, rank=2)
    communities, grids, patrollers, community_leaders = [], [], [], []
    for c_index, short in enumerate(COMMUNITY_NAMES, start=1):
        community = area(f"{DEMO_SUBDISTRICT}-{c_index}", f"{short}社区", "community", sub)
        communities.append(community)
        community_leaders.append(person("community_leader", community))
        person("community_leader", community, rank=2)
        for g_index in range(1, rng.randint(2, 8) + 1):
            grid = area(f"{community.code}-{g_index}", f"{short}社区第{NUMERALS[g_index - 1]}网格", "grid", community)
            grids.append(grid)
            person("grid_leader", grid)
            person("grid_leader", grid, rank=2)
            for _ in range(rng.randint(3, 5)):
                patrollers.append((person("patroller", grid), grid))
    session.flush()

    _, admin_token = issue_staff_token(session, admin, name="demo")
    out["admin"] = {"name": admin.name, "phone": admin.phone, "token": admin_token, "password": DEMO_PASSWORD}
    _demo_passwords(session, out)
    for member, where in [(sub_leader, sub)] + list(zip(community_leaders, communities)):
        _, token = issue_staff_token(session, member, name="demo")
        role = "subdistrict_leader" if where is sub else "community_leader"
        out["staff_tokens"].append({"name": member.name, "phone": member.phone, "role": role, "area": where.code,
                                    "token": token, "password": DEMO_PASSWORD})
    for member, grid in patrollers:
        device, token = register_device(session, member, name=f"{member.name}的手机")
        out["devices"].append({"member": member.name, "phone": member.phone, "area": grid.code,
                               "device_id": device.id, "token": token})
        members_by_phone[member.phone]["device_token"] = token

    _schedules(session, sub, now)
    _sites(session, rng, communities, grids, patrollers, now)
    out["incidents"] = _incidents(session, grids, patrollers, community_leaders, now)
    report_day = _past_fortnight(session, rng, communities, grids, patrollers, now)
    out["weekly_reports"] = _weekly_reports(session, [sub, district], report_day, now)
    audit.record(session, "demo.load", channel=channel, actor_label="demo", entity="area", entity_id=sub.id,
                 summary={"areas": len(out["areas"]), "members": len(out["members"]),
                          "devices": len(out["devices"]), "incidents": len(out["incidents"])})
    session.flush()
    return out


DEMO_PASSWORD = "yingyue-demo"  # every demo leader's and the admin's dashboard password (invented people)


def _demo_passwords(session: Session, out: dict) -> None:
    """Leaders and the admin sign in to the dashboard with DEMO_PASSWORD. One hash shared by all: hashing is
    deliberately slow, and these are invented people."""
    shared = generate_password_hash(DEMO_PASSWORD)
    leader_roles = {"admin", "grid_leader", "community_leader", "subdistrict_leader", "district_leader"}
    phones = {e["phone"] for e in out["members"] if any(r["role"] in leader_roles for r in e["roles"])}
    for member in session.scalars(select(Member).where(Member.phone.in_(phones))):
        member.password_hash = shared
    for entry in out["members"]:
        if entry["phone"] in phones:
            entry["password"] = DEMO_PASSWORD
    out["leader_password"] = DEMO_PASSWORD


def _schedules(session: Session, sub: Area, now: datetime) -> None:
    today = now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    start, end = winter_season(today)
    chuxi, spring = lunar_new_year_dates(start)
    # Made when the demo's fortnight of patrols begins (two weeks before last Thursday), as in an installation
    # that has been running: the weekly report counts a schedule's windows from the day it was made.
    made = datetime.combine(last_report_day(today) - timedelta(days=14), time(0, 0),
                            tzinfo=ZoneInfo(DEFAULT_TIMEZONE)).astimezone(timezone.utc)
    session.add(PatrolSchedule(area=sub, name="日常巡查", windows=list(DEFAULT_WINDOWS), created_at=made))
    session.add(PatrolSchedule(
        area=sub, name="秋冬季攻坚", windows=list(DEFAULT_WINDOWS), active_from=start, active_to=end, created_at=made,
        heightened=[
            {"name": "除夕", "lunar": "chuxi", "dates": [chuxi.isoformat()],
             "windows": [{"start": "18:00", "end": "02:00"}]},  # ends after midnight: a night check
            {"name": "春节", "lunar": "spring_festival", "dates": [d.isoformat() for d in spring],
             "windows": [{"start": "19:00", "end": "23:00"}]},
        ],
        key_sites=[{"name": name, "location": location, "fixed_post": True} for name, location in KEY_SITES]))


REPORT_WEEKDAY = 3  # Thursday: the plans hand the weekly report up every Thursday


def last_report_day(today: date) -> date:
    """The most recent Thursday before today: its report is stored by the demo; today's is the job's."""
    return today - timedelta(days=(today.weekday() - REPORT_WEEKDAY - 1) % 7 + 1)


KEY_SITES = [("东山祭祀点", "东山公墓北门"), ("金沙未拆迁区", "金沙路88号以东"), ("望江农贸市场", "望江路12号")]
STREETS = ["映月路", "白马街", "青溪巷", "丹枫路", "望江路", "桂香街", "梧桐巷", "柳岸路", "金沙路", "兰亭街"]


def _sites(session, rng, communities, grids, patrollers, now) -> None:
    for (name, location), community in zip(KEY_SITES, (communities[11], communities[8], communities[4])):
        session.add(Site(area=community, name=name, address=location, kind="key_site", status="identified",
                         notes="重点时段固定蹲守"))
    statuses = ["identified"] * 5 + ["rectified_gas"] * 3 + ["rectified_electric"] * 2 + ["cleared"] * 2
    for index, status in enumerate(statuses):
        grid = grids[(index * 5) % len(grids)]
        address = f"{rng.choice(STREETS)}{rng.randint(1, 199)}号"
        site = Site(area=grid, name=f"散煤户{index + 1:02d}", address=address, kind="coal_user",
                    stove_count=rng.randint(1, 3), status=status)
        session.add(site)
        if status != "identified":
            inspector = next((m for m, g in patrollers if g is grid), None)
            when = now - timedelta(days=rng.randint(1, 20))
            session.add(SiteInspection(site=site, member_id=inspector.id if inspector else None, at=when,
                                       status_after=status, note="煤改气" if "gas" in status else "入户检查"))
            site.last_inspected_at = when


def _incidents(session, grids, patrollers, community_leaders, now) -> list[dict]:
    categories = {c.code: c for c in session.scalars(select(Category))}
    first_patroller, first_grid = patrollers[0]
    other_patroller, other_grid = patrollers[7]
    leader = community_leaders[0]
    made = []

    def new(code, grid, reporter, hours_ago, **kw):
        incident = create_incident(session, category=categories[code], area=grid, channel="cli",
                                   reporter=reporter, now=now - timedelta(hours=hours_ago), **kw)
        made.append(incident)
        return incident

    new("coal", first_grid, first_patroller, 3, source="patrol", handling_class="reported",
        location_text="映月路12号", description="居民使用燃煤炉取暖")
    sent = new("garbage_burning", other_grid, other_patroller, 30, source="patroller_sms",
               handling_class="reported", location_text="白马街口", description="路边焚烧垃圾")
    acknowledge(session, sent, channel="cli", actor=leader, now=now - timedelta(hours=28))
    done = new("cooking_fumes", first_grid, first_patroller, 50, source="patrol", handling_class="immediate",
               location_text="映月路烧烤摊", description="露天烧烤油烟")
    handle(session, done, channel="cli", actor=first_patroller, note="已劝导收摊", now=now - timedelta(hours=49))
    closed = new("dust", other_grid, other_patroller, 120, source="patrol", handling_class="immediate",
                 location_text="工地北门", description="渣土未覆盖")
    handle(session, closed, channel="cli", actor=other_patroller, note="已覆盖", now=now - timedelta(hours=118))
    transition(session, closed, "closed", channel="cli", actor=leader, now=now - timedelta(hours=100))
    late = new("straw_burning", grids[-1], patrollers[-1][0], 80, source="resident_sms", handling_class="reported",
               location_text="石桥村东", description="焚烧落叶秸秆", reporter_phone="+8617009990001")
    escalate(session, late, channel="cli", actor_label="demo", reason="逾期未处理", flag=True,
             now=now - timedelta(hours=20))
    new("cured_meat", grids[3], patrollers[12][0], 10, source="patrol", handling_class="committed",
        promised_date=(now + timedelta(days=3)).date(), location_text="桂香街5号", description="阳台熏制腊肉")
    session.flush()
    return [{"ticket": i.ticket, "status": i.status, "category": i.category.code, "area": i.area.code,
             "responsible_area": i.responsible_area.code, "flagged": i.flagged} for i in made]


# Each community's share of windows patrolled (cycled), so the demo report has a spread of scores and a tie.
RELIABILITY = [0.95, 0.9, 1.0, 0.8, 0.9, 0.7, 0.95, 0.85, 0.6, 0.9, 1.0, 0.75, 0.5]
PAST_PROBLEMS = [("coal", "immediate", 2), ("garbage_burning", "immediate", 1), ("dust", "immediate", 5),
                 ("cooking_fumes", "immediate", 1), ("straw_burning", "immediate", 3), ("fireworks", "immediate", 1),
                 ("coal", "immediate", 80), ("cooking_fumes", "immediate", 60)]  # the last two handled late


def _past_fortnight(session, rng, communities, grids, patrollers, now) -> date:
    """Patrols of every scheduled window from two weeks before last Thursday until yesterday (most walked,
    by community reliability) and problems found and handled in the report week, so last Thursday's report
    has figures. Seeded: the same on SQLite and PostgreSQL. Returns last Thursday."""
    tz = ZoneInfo(DEFAULT_TIMEZONE)
    today = now.astimezone(tz).date()
    report_day = last_report_day(today)
    reliability = {c.id: RELIABILITY[i % len(RELIABILITY)] for i, c in enumerate(communities)}
    walkers: dict[int, list[Member]] = {}
    for member, grid in patrollers:
        walkers.setdefault(grid.id, []).append(member)
    day = report_day - timedelta(days=14)
    while day < today:
        for grid in grids:
            for window in DEFAULT_WINDOWS:
                if rng.random() >= reliability[grid.parent_id]:
                    continue
                start = datetime.combine(day, time.fromisoformat(window["start"]), tzinfo=tz)
                began = (start + timedelta(minutes=rng.randint(0, 150))).astimezone(timezone.utc)
                ended = began + timedelta(minutes=rng.randint(30, 75))
                session.add(Patrol(member_id=rng.choice(walkers[grid.id]).id, area_id=grid.id, started_at=began,
                                   ended_at=ended, source="device", created_at=ended))
        day += timedelta(days=1)
    categories = {c.code: c for c in session.scalars(select(Category))}
    for index, (code, handling, hours) in enumerate(PAST_PROBLEMS):
        grid = grids[(index * 7) % len(grids)]
        reporter = walkers[grid.id][0]
        found = datetime.combine(report_day - timedelta(days=6 - index % 6), time(9 + index % 5, 30),
                                 tzinfo=tz).astimezone(timezone.utc)
        incident = create_incident(session, category=categories[code], area=grid, channel="cli", source="patrol",
                                   handling_class=handling, reporter=reporter, now=found,
                                   location_text=f"{rng.choice(STREETS)}{rng.randint(1, 199)}号",
                                   description="巡查发现")
        handle(session, incident, channel="cli", actor=reporter, note="已处理", now=found + timedelta(hours=hours))
    session.flush()
    return report_day


def _weekly_reports(session: Session, areas: list[Area], report_day: date, now: datetime) -> list[dict]:
    """Last Thursday's weekly report (周报) stored for the sub-district and its district, so an office opening
    the demo sees one."""
    stored = []
    for area in areas:
        report, _ = store_report(session, area, report_day, now)
        stored.append({"id": report.id, "area": area.code, "week_start": report.week_start.isoformat(),
                       "week_end": report.week_end.isoformat()})
    return stored
