"""Issue 9, item 10: the report climbs community → sub-district → district (the 航海东路 plan). A district's
report has one row per sub-district, computed by the same functions, whose figures equal each
sub-district's own report totals; the API, the CLI, the Thursday job and the exports take a district."""
from __future__ import annotations

import io

import pytest
import time_machine
from openpyxl import load_workbook

from core.domain.areas import create_area
from core.domain.incidents import create_incident
from core.domain.weekly_reports import build_report, run_weekly_reports
from tests.support.workers_helpers import add_patrol, add_schedule, call, category, day, load_world, local

REPORT_DAY = day(2026, 11, 19)  # a Thursday
NOW = local(2026, 11, 19, 9, 0)


@pytest.fixture
def two(session, world):
    """The world's district HD with a second sub-district HD07 (one community, one grid), both scheduled,
    patrolled in part and with problems, one of them filed at the sub-district itself (no place named)."""
    w = load_world(session, world)
    w.sub7 = create_area(session, code="HD07", name="江口街道", kind="subdistrict", parent_id=w.district.id)
    w.c71 = create_area(session, code="HD07-1", name="江口社区", kind="community", parent_id=w.sub7.id)
    w.g711 = create_area(session, code="HD07-1-1", name="江口一网格", kind="grid", parent_id=w.c71.id)
    session.commit()
    with time_machine.travel(local(2026, 11, 1, 8, 0), tick=False):
        add_schedule(session, w.subdistrict, windows=[{"start": "08:00", "end": "12:00"}])
        add_schedule(session, w.sub7, windows=[{"start": "08:00", "end": "12:00"}])
    for d in (13, 14, 16):
        add_patrol(session, w.patroller, w.g11, local(2026, 11, d, 9, 0))
    for d in (12, 13, 14, 15, 16, 17):
        add_patrol(session, w.patroller, w.g711, local(2026, 11, d, 9, 0))
    for area, code in ((w.g11, "cooking_fumes"), (w.g21, "coal"), (w.g711, "coal"), (w.sub7, "straw_burning")):
        create_incident(session, category=category(session, code), area=area, channel="api", source="patrol",
                        handling_class="immediate", now=local(2026, 11, 17, 10, 0))
    session.commit()
    return w


def test_a_district_has_one_row_per_subdistrict_equal_to_its_own_totals(session, two):
    district = build_report(session, two.district, REPORT_DAY, NOW)
    assert district["area"]["kind"] == "district" and district["row_kind"] == "subdistrict"
    rows = {row["code"]: row for row in district["communities"]}
    assert list(rows) == ["HD07", "HD03"]  # ranked: HD07 patrolled 6 of 7, HD03 3 of 21
    for sub in (two.subdistrict, two.sub7):
        own = build_report(session, sub, REPORT_DAY, NOW)
        assert own["row_kind"] == "community"
        assert rows[sub.code]["current"] == own["total"]["current"]
        assert rows[sub.code]["previous"] == own["total"]["previous"]
    assert rows["HD07"]["current"]["by_category"] == {"coal": 1, "straw_burning": 1}  # filed at HD07 counts
    assert rows["HD07"]["current"]["windows_scheduled"] == 7 and rows["HD07"]["current"]["windows_patrolled"] == 6
    assert [rows["HD07"]["rank"], rows["HD03"]["rank"]] == [1, 2]
    assert district["total"]["current"]["incidents"] == 4


def test_api_and_exports_take_a_district_code(session, two, world, client):
    with time_machine.travel(NOW, tick=False):
        made = call(client, "post", "/api/v1/reports/weekly", world.tokens["admin"], json={"area_id": "HD"})
    assert made.status_code == 201, made.get_json()
    report = made.get_json()
    assert [r["code"] for r in report["data"]["communities"]] == ["HD07", "HD03"]
    listed = call(client, "get", "/api/v1/reports/weekly?area_id=HD", world.tokens["admin"]).get_json()
    assert [r["id"] for r in listed["items"]] == [report["id"]]
    csv = call(client, "get", f"/api/v1/reports/weekly/{report['id']}.csv", world.tokens["admin"])
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("1,HD07,江口街道") and "惠东区 合计" in lines[-1]
    book = load_workbook(io.BytesIO(call(client, "get", f"/api/v1/reports/weekly/{report['id']}.xlsx",
                                         world.tokens["admin"]).data))
    assert "惠东区（HD）网格巡查周报" in book["周报排名"]["A1"].value and "街道" in book["周报排名"]["A2"].value
    assert "按类别与街道统计" in book["问题分类"]["A2"].value
    grid = call(client, "post", "/api/v1/reports/weekly", world.tokens["admin"], json={"area_id": "HD03-1-1"})
    assert grid.status_code == 404 and grid.get_json()["error"]


def test_the_thursday_job_and_cli_store_the_district_report_too(app, session, two, tmp_path):
    from click.testing import CliRunner
    from server.cli import main
    from core.models.alerts import WeeklyReport
    from sqlalchemy import select
    result = run_weekly_reports(session, NOW)
    session.commit()
    stored = {r.area_id: r for r in session.scalars(select(WeeklyReport))}
    assert result["reports"] == 3 and set(stored) == {two.subdistrict.id, two.sub7.id, two.district.id}
    assert stored[two.district.id].data["row_kind"] == "subdistrict"
    session.close()
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "cli"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}

    def gridpatrol(*args):
        return CliRunner().invoke(main, list(args), env=env)
    out = gridpatrol("reports", "weekly", "--area", "HD", "--now", NOW.isoformat())
    assert out.exit_code == 0, out.output
    assert '"reports": 0' in out.stdout  # already stored this week: kept once, not made again
    bad = gridpatrol("reports", "weekly", "--area", "HD03-1")
    assert bad.exit_code != 0 and "sub-district or district" in bad.output
