"""Roster import: real CSV and XLSX files, dry runs that report every bad row, all-or-nothing commits."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from core.domain.roster import import_roster, plan_roster
from core.domain.roster_files import read_roster
from core.db import db
from core.models import Area, Assignment, AuditLog, Member
from tests.conftest import bearer
from tests.support.roster_helpers import GOOD_ROWS, HEADER_EN, csv_bytes, xlsx_bytes

URL = "/api/v1/roster/import"


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Area.id))), db.session.scalar(select(func.count(Member.id))),
                db.session.scalar(select(func.count(Assignment.id))))


def _post(client, token, data: bytes, query: str = "", filename: str | None = None):
    if filename:
        return client.post(f"{URL}?parent=HD03{query}", headers=bearer(token),
                           data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
    return client.post(f"{URL}?parent=HD03{query}", headers=bearer(token), data=data,
                       content_type="text/csv")


def test_dry_run_reports_every_bad_row_by_line_and_writes_nothing(app, client, world):
    rows = [
        ["映月社区", "映月一网格", "甲", "17001000011", "网格员"],        # line 2: fine
        ["映月社区", "映月一网格", "乙", "12345", "网格员"],              # line 3: phone
        ["映月社区", "映月一网格", "丙", "17001000013", "清洁工"],        # line 4: role
        ["映月社区", "", "丁", "17001000014", "网格员"],                  # line 5: patroller needs a grid
        ["映月社区", "映月一网格", "戊", "17001000011", "网格员"],        # line 6: phone of 甲 on line 2
        ["映月社区", "映月一网格", "张三", "+8617000000007", "网格员"],   # line 7: phone of 吴巡查 in the DB
        ["映月社区", "映月一网格", "", "17001000017", "网格员"],          # line 8: name
    ]
    before = _counts(app)
    response = _post(client, world.tokens["admin"], csv_bytes(rows))
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False and body["rows"] == 7 and body["committed"] is False
    found = {(e["line"], e["field"]) for e in body["errors"]}
    assert found == {(3, "phone"), (4, "role"), (5, "grid"), (6, "phone"), (7, "phone"), (8, "name")}
    line6 = next(e for e in body["errors"] if e["line"] == 6)
    assert "line 2" in line6["message"]
    assert next(e for e in body["errors"] if e["line"] == 3)["value"] == "12345"  # raw input kept
    assert _counts(app) == before


def test_commit_is_all_or_nothing(app, client, world):
    rows = GOOD_ROWS + [["新华社区", "新华一网格", "坏号码", "not-a-phone", "网格员"]]
    before = _counts(app)
    response = _post(client, world.tokens["admin"], csv_bytes(rows), "&commit=true")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "roster_invalid"
    assert [e["line"] for e in body["details"]["errors"]] == [len(rows) + 1]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "roster.import")) == 0


def test_gb18030_csv_commit_creates_areas_members_and_ordered_leaders(app, client, world):
    data = csv_bytes(GOOD_ROWS, encoding="gb18030")
    dry = _post(client, world.tokens["admin"], data).get_json()
    assert dry["ok"] is True, dry["errors"]
    assert {c["name"] for c in dry["would_create"]["communities"]} == {"新华社区"}
    assert {g["code"] for g in dry["would_create"]["grids"]} == {"HD03-1-3", "HD03-3-1", "HD03-3-2"}
    response = _post(client, world.tokens["admin"], data, "&commit=true")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["committed"] is True and len(body["created"]["members"]) == 8
    with app.app_context():
        session = db.session
        xinhua = session.scalar(select(Area).where(Area.name == "新华社区"))
        assert xinhua.code == "HD03-3" and xinhua.kind == "community" and xinhua.parent.code == "HD03"
        grid = session.scalar(select(Area).where(Area.code == "HD03-3-1"))
        assert grid.parent_id == xinhua.id and grid.path.startswith(xinhua.path)
        feng = session.scalar(select(Member).where(Member.phone == "+8617001000001"))
        assert sorted(a.area.code for a in feng.assignments) == ["HD03-1-1", "HD03-1-3"]
        from core.domain.areas import leaders_of
        assert [m.name for m in leaders_of(session, xinhua)] == ["何书记", "高主任"]
        ranks = {a.member.name: (a.role, a.rank) for a in session.scalars(
            select(Assignment).where(Assignment.area_id == xinhua.id))}
        assert ranks == {"何书记": ("community_leader", 1), "高主任": ("community_leader", 2)}
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "roster.import"))
        assert entry.channel == "api" and entry.summary["members"] == 8


def test_xlsx_upload_then_reimport_changes_nothing(app, client, world):
    rows = [[c, g, n, int(p.replace(" ", "").replace("-", "").replace("+86", "")), r] for c, g, n, p, r in GOOD_ROWS]
    data = xlsx_bytes(rows, header=HEADER_EN)
    first = _post(client, world.tokens["admin"], data, "&commit=true", filename="roster.xlsx")
    assert first.status_code == 201, first.get_json()
    after_first = _counts(app)
    again = _post(client, world.tokens["admin"], data, filename="roster.xlsx").get_json()
    assert again["ok"] is True and again["unchanged"] == len(rows)
    assert again["would_create"] == {"communities": [], "grids": [], "members": [], "assignments": 0}
    _post(client, world.tokens["admin"], data, "&commit=true", filename="roster.xlsx")
    assert _counts(app) == after_first


def test_second_leader_for_an_area_is_refused_but_a_deputy_takes_the_next_rank(app, session, world):
    rows = [["映月社区", "映月一网格", "新组长", "17001000031", "组长"],
            ["映月社区", "映月一网格", "新副组长", "17001000032", "副組長"]]  # traditional characters
    plan = plan_roster(session, read_roster(csv_bytes(rows)), session.get(Area, world.ids["subdistrict"]))
    assert [(e["line"], e["field"]) for e in plan.errors] == [(2, "role")]
    assert "database" in plan.errors[0]["message"]
    assert [(a.name, a.rank) for a in plan.assignments] == [("新副组长", 3)]  # 周副组长 already holds rank 2


def test_traditional_headers_and_role_words(app, session, world):
    data = csv_bytes([["白馬社區", "白馬一網格", "趙網格員", "17001000041", "網格員"]],
                     header=["社區", "網格", "姓名", "電話", "職務"])
    report = import_roster(session, read_roster(data), session.get(Area, world.ids["subdistrict"]), commit=True,
                           channel="cli")
    assert report["committed"] is True
    member = session.scalar(select(Member).where(Member.phone == "+8617001000041"))
    assert member.assignments[0].role == "patroller"


def test_missing_columns_and_bad_files_are_precise_4xx(app, client, world):
    token = world.tokens["admin"]
    no_phone = csv_bytes([["映月社区", "甲", "网格员"]], header=["社区", "姓名", "职务"])
    response = _post(client, token, no_phone)
    assert response.status_code == 422
    assert response.get_json()["error"] == "roster_columns_missing"
    assert "phone" in response.get_json()["message"]
    assert _post(client, token, b"\xd0\xcf\x11\xe0legacy").status_code == 422
    assert _post(client, token, b"PK\x03\x04broken", filename="x.xlsx").status_code == 422
    empty = client.post(f"{URL}?parent=HD03", headers=bearer(token))
    assert empty.status_code == 400 and empty.get_json()["error"] == "file_missing"
    assert client.post(f"{URL}?parent=NOPE", headers=bearer(token), data=b"x").status_code == 422


def test_only_admins_import(app, client, world):
    data = csv_bytes(GOOD_ROWS)
    assert _post(client, world.tokens["c1_leader"], data).status_code == 403
    assert client.post(f"{URL}?parent=HD03", data=data).status_code == 401
    assert client.post(f"{URL}?parent=HD03", data=data, headers=bearer(world.device_token)).status_code == 403


def test_parent_may_be_left_out_when_there_is_one_subdistrict(app, client, world):
    response = client.post(URL, headers=bearer(world.tokens["admin"]), data=csv_bytes(GOOD_ROWS))
    assert response.status_code == 200 and response.get_json()["parent"] == "HD03"
    by_id = client.post(f"{URL}?parent={world.ids['subdistrict']}", headers=bearer(world.tokens["admin"]),
                        data=csv_bytes(GOOD_ROWS))
    assert by_id.status_code == 200 and by_id.get_json()["parent"] == "HD03"


def test_raw_body_with_curls_default_form_content_type(app, client, world):
    response = client.post(f"{URL}?parent=HD03", headers=bearer(world.tokens["admin"]), data=csv_bytes(GOOD_ROWS),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.get_json()["rows"] == len(GOOD_ROWS)
    empty_multipart = client.post(f"{URL}?parent=HD03", headers=bearer(world.tokens["admin"]),
                                  data={"note": "no file"}, content_type="multipart/form-data")
    assert empty_multipart.status_code == 400 and empty_multipart.get_json()["error"] == "file_missing"


def test_role_words_land_on_the_right_area_and_role(app, session, world):
    rows = [
        ["", "", "街道王书记", "17001000051", "街道副书记"],  # 赵街道 is already the 组长 of HD03
        ["", "", "街道副主任甲", "17001000052", "街道副主任"],
        ["新华社区", "", "新华组长", "17001000053", "组长"],            # no grid: the (new) community's 组长
        ["白马社区", "白马一网格", "督查乙", "17001000054", "督查员"],
        ["白马社区", "白马一网格", "志愿者丙", "17001000055", "红袖标志愿者"],
        ["", "", "管理员丁", "17001000056", "管理员"],
    ]
    sub = session.get(Area, world.ids["subdistrict"])
    report = import_roster(session, read_roster(csv_bytes(rows)), sub, commit=True, channel="cli")
    assert report["ok"], report["errors"]
    got = {}
    for member in session.scalars(select(Member).where(Member.phone.like("+86170010000%"))):
        (assignment,) = member.assignments
        got[member.name] = (assignment.role, assignment.area.code, assignment.rank)
    assert got == {
        "街道王书记": ("subdistrict_leader", "HD03", 2),
        "街道副主任甲": ("subdistrict_leader", "HD03", 3),
        "新华组长": ("community_leader", "HD03-3", 1),
        "督查乙": ("supervisor", "HD03-2-1", 1),
        "志愿者丙": ("volunteer", "HD03-2-1", 1),
        "管理员丁": ("admin", "HD03", 1),
    }


def test_title_rows_above_the_header_are_skipped_and_lines_stay_true(app, session, world):
    from openpyxl import Workbook
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["映月街道网格员花名册（2026年冬）"])
    sheet.append([])
    sheet.append(["序号", "社区", "网格", "姓名", "联系电话", "职务"])
    sheet.append([1, "映月社区", "映月一网格", "甲", 17001000061, "网格员"])
    sheet.append([2, "映月社区", "映月一网格", "乙", "170010000", "网格员"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan = plan_roster(session, read_roster(buffer.getvalue()), session.get(Area, world.ids["subdistrict"]))
    assert plan.rows == 2
    assert [(e["line"], e["field"]) for e in plan.errors] == [(5, "phone")]


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from core.domain.errors import Invalid  # noqa: E402

_cells = st.one_of(st.text(max_size=12), st.sampled_from(["映月社区", "映月一网格", "网格员", "组长", "副组长",
                                                          "社区书记", "17001000071", "+8617001000072", "", " "]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_are_a_roster_or_a_precise_invalid(data):
    try:
        table = read_roster(data)
    except Invalid as exc:
        assert exc.status == 422 and exc.details
    else:
        assert all(isinstance(line, int) for line, _ in table.rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cells, min_size=5, max_size=5), max_size=8))
def test_any_cells_plan_without_crashing_and_errors_name_real_lines(session, world, rows):
    sub = session.get(Area, world.ids["subdistrict"])
    try:
        table = read_roster(csv_bytes(rows))
    except Invalid:
        return  # e.g. nothing but blank rows
    plan = plan_roster(session, table, sub)
    lines = {line for line, _ in table.rows}
    assert all(error["line"] in lines for error in plan.errors)
    assert plan.rows == len(table.rows)


def test_a_removed_member_is_not_revived_by_an_old_sheet(app, client, world):
    assert client.delete(f"/api/v1/members/{world.ids['patroller2']}",
                         headers=bearer(world.tokens["admin"])).status_code in (200, 204)
    rows = [["白马社区", "白马一网格", "郑巡查", "17000000008", "网格员"]]
    body = _post(client, world.tokens["admin"], csv_bytes(rows)).get_json()
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(2, "phone")]
    assert "removed" in body["errors"][0]["message"]


def test_one_sheet_per_community_with_a_notes_sheet(app, client, world):
    from openpyxl import Workbook
    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["本表由社区填写，每周四更新"])
    for title, rows in (("映月社区", [["映月社区", "映月一网格", "孟巡查", "17001000081", "网格员"]]),
                        ("新华社区", [["新华社区", "新华一网格", "万组长", "17001000082", "组长"],
                                      ["新华社区", "新华一网格", "冒名者", "17001000081", "网格员"]])):
        sheet = workbook.create_sheet(title)
        sheet.append(["社区", "网格", "姓名", "手机", "职务"])
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    body = _post(client, world.tokens["admin"], buffer.getvalue(), filename="花名册.xlsx").get_json()
    assert body["rows"] == 3
    assert [s["sheet"] for s in body["sheets_skipped"]] == ["说明"]
    (error,) = body["errors"]
    assert (error["sheet"], error["line"], error["field"]) == ("新华社区", 3, "phone")
    assert "sheet 映月社区 line 2" in error["message"]
