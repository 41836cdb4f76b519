"""Builders for test data. `build_world` makes the hierarchy most tests need, with known tokens."""
from __future__ import annotations

from types import SimpleNamespace

from core.domain.areas import create_area
from core.domain.catalogue import seed_categories
from core.domain.tokens import issue_staff_token, register_device
from core.models import Assignment, Member


def add_member(session, name: str, phone: str, *roles_at: tuple, locale: str = "zh") -> Member:
    """roles_at: (role, area_or_None[, rank]) tuples."""
    member = Member(name=name, phone=phone, locale=locale)
    session.add(member)
    for item in roles_at:
        role, area = item[0], item[1]
        rank = item[2] if len(item) > 2 else 1
        member.assignments.append(Assignment(role=role, area_id=area.id if area else None, rank=rank))
    session.flush()
    return member


def build_world(session) -> SimpleNamespace:
    """HD (district) > HD03 (sub-district) > HD03-1, HD03-2 (communities) > grids HD03-1-1, HD03-1-2, HD03-2-1.

    Phones are in the +86 170 0000 range used only for tests (never a real subscriber here).
    """
    seed_categories(session)
    w = SimpleNamespace()
    w.district = create_area(session, code="HD", name="惠东区", kind="district")
    w.subdistrict = create_area(session, code="HD03", name="映月街道", kind="subdistrict", parent_id=w.district.id)
    w.c1 = create_area(session, code="HD03-1", name="映月社区", kind="community", parent_id=w.subdistrict.id)
    w.c2 = create_area(session, code="HD03-2", name="白马社区", kind="community", parent_id=w.subdistrict.id)
    w.g11 = create_area(session, code="HD03-1-1", name="映月一网格", kind="grid", parent_id=w.c1.id)
    w.g12 = create_area(session, code="HD03-1-2", name="映月二网格", kind="grid", parent_id=w.c1.id)
    w.g21 = create_area(session, code="HD03-2-1", name="白马一网格", kind="grid", parent_id=w.c2.id)

    w.admin = add_member(session, "管理员", "+8617000000001", ("admin", None))
    w.sub_leader = add_member(session, "赵街道", "+8617000000002", ("subdistrict_leader", w.subdistrict))
    w.c1_leader = add_member(session, "钱社区", "+8617000000003", ("community_leader", w.c1))
    w.c2_leader = add_member(session, "孙社区", "+8617000000004", ("community_leader", w.c2))
    w.g11_leader = add_member(session, "李网格", "+8617000000005", ("grid_leader", w.g11))
    w.g11_deputy = add_member(session, "周副组长", "+8617000000006", ("grid_leader", w.g11, 2))
    w.patroller = add_member(session, "吴巡查", "+8617000000007", ("patroller", w.g11))
    w.patroller2 = add_member(session, "郑巡查", "+8617000000008", ("patroller", w.g21))

    w.tokens = {}
    for key in ("admin", "sub_leader", "c1_leader", "c2_leader", "g11_leader", "patroller"):
        _, token = issue_staff_token(session, getattr(w, key), name="test")
        w.tokens[key] = token
    w.device, w.device_token = register_device(session, w.patroller, name="吴巡查的手机")
    w.device2, w.device2_token = register_device(session, w.patroller2, name="郑巡查的手机")
    session.flush()
    # Plain ids so tests can use them after the session closes.
    w.ids = {k: getattr(w, k).id for k in ("district", "subdistrict", "c1", "c2", "g11", "g12", "g21",
                                          "admin", "sub_leader", "c1_leader", "c2_leader", "g11_leader",
                                          "g11_deputy", "patroller", "patroller2", "device", "device2")}
    return w
