"""Issue 9, failure 10: the weekly report an office can hand up — coverage from the schedules' windows,
无数据 not ranked, shared ranks for ties, natural code order, Chinese category names, a formatted XLSX with
an openpyxl bar chart, area codes accepted."""
from __future__ import annotations

import io

import time_machine
from openpyxl import load_workbook

from core.domain.areas import create_area
from core.domain.incidents import create_incident
from core.domain.weekly_reports import assign_ranks, natural_key, store_report
from tests.support.workers_helpers import add_patrol, add_schedule, call, category, day, local


def test_ranks_are_shared_for_ties_and_codes_sort_naturally():
    rows = [{"code": c, "score": s} for c, s in
            [("CJ05-10", 90.0), ("CJ05-2", 90.0), ("CJ05-1", 95.0), ("CJ05-3", None), ("CJ05-4", 80.0)]]
    assign_ranks(rows)
    assert [(r["code"], r["rank"]) for r in rows] == [("CJ05-1", 1), ("CJ05-2", 2), ("CJ05-10", 2), ("CJ05-4", 4),
                                                      ("CJ05-3", None)]
    assert sorted(["CJ05-10", "CJ05-2", "CJ05-1"], key=natural_key) == ["CJ05-1", "CJ05-2", "CJ05-10"]


def test_coverage_comes_from_the_schedule_when_the_planner_never_ran(session, w):
    """No worker ever planned a window (a fresh installation, the demo): the schedule still says what was due."""
    with time_machine.travel(local(2026, 11, 10, 8, 0), tick=False):
        add_schedule(session, w.c1, windows=[{"start": "08:00", "end": "12:00"}])
        session.commit()
    for d in (16, 17, 18):
        add_patrol(session, w.patroller, w.g11, local(2026, 11, d, 9, 0))
    create_incident(session, category=category(session, "fireworks"), area=w.g11, channel="api", source="patrol",
                    handling_class="immediate", now=local(2026, 11, 17, 10, 0))
    session.commit()
    report, _ = store_report(session, w.subdistrict, day(2026, 11, 19), local(2026, 11, 19, 9, 0))
    c1 = next(r for r in report.data["communities"] if r["code"] == "HD03-1")
    # 7 days × 2 grids, one window a day; g11 patrolled 3 of its 7
    assert c1["current"]["windows_scheduled"] == 14 and c1["current"]["windows_patrolled"] == 3
    assert c1["current"]["coverage"] == round(3 / 14, 4) and c1["rank"] == 1
    assert report.data["category_names"]["fireworks"] == "烟花爆竹"


def test_xlsx_is_formatted_with_chinese_categories_and_a_bar_chart(app, session, w, world, client):
    with time_machine.travel(local(2026, 11, 1, 8, 0), tick=False):
        add_schedule(session, w.c1, windows=[{"start": "08:00", "end": "12:00"}])
        session.commit()
    c10 = create_area(session, code="HD03-10", name="十号社区", kind="community", parent_id=w.subdistrict.id)
    session.commit()
    create_incident(session, category=category(session, "cooking_fumes"), area=w.g11, channel="api",
                    source="patrol", handling_class="immediate", now=local(2026, 11, 17, 10, 0))
    session.commit()
    with time_machine.travel(local(2026, 11, 19, 9, 30), tick=False):
        made = call(client, "post", "/api/v1/reports/weekly", world.tokens["admin"], json={"area_id": "HD03"})
    assert made.status_code == 201, made.get_json()  # an area code is accepted, not only an id
    report_id = made.get_json()["id"]
    listed = call(client, "get", "/api/v1/reports/weekly?area_id=HD03", world.tokens["admin"]).get_json()
    assert [r["id"] for r in listed["items"]] == [report_id]
    xlsx = call(client, "get", f"/api/v1/reports/weekly/{report_id}.xlsx", world.tokens["admin"])
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["周报排名", "问题分类", "分类图表"]
    ranking = book["周报排名"]
    assert "映月街道（HD03）网格巡查周报" in ranking["A1"].value and ranking.freeze_panes == "D4"
    assert ranking["A3"].font.bold and ranking.column_dimensions["C"].width >= 8
    rows = list(ranking.iter_rows(min_row=4, values_only=True))
    codes = [r[1] for r in rows[:-1]]
    assert codes[0] == "HD03-1" and codes[1:] == ["HD03-2", "HD03-10"]  # no data last, natural order
    coverage_col = [c.value for c in ranking[3]].index("覆盖率 coverage") + 1
    assert ranking.cell(row=4, column=coverage_col).number_format == "0.0%"
    assert ranking.cell(row=4, column=coverage_col).value == 0.0
    assert ranking.cell(row=5, column=coverage_col).value == "无数据" and rows[1][0] == "—"
    header = [c.value for c in book["问题分类"][3]]
    assert "餐饮油烟" in header and "cooking_fumes" not in header
    charts = book["分类图表"]._charts
    assert len(charts) == 1 and charts[0].tagname == "barChart"
    assert c10.code == "HD03-10"
