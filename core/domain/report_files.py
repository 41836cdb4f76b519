"""A stored weekly report as CSV or XLSX: one row per community (and the sub-district total) — or, for a
district, one per sub-district (and the district total) — this week's
figures with last week's beside them, score and rank. Column headers are Chinese first with English.

The XLSX is what an office hands up (the 航海东路 plan: every Thursday, problems by category and count):
a title row naming the area and the week, a bold frozen header, column widths that fit Chinese text,
coverage as percentages, the ranking sorted, communities with nothing scheduled shown as 无数据 and not
ranked, Chinese category names, and a bar chart of problems by category made with openpyxl's charts.
Every cell, title and chart label goes through core.domain.spreadsheets (the one writer; OWASP's formula rule).
"""
from __future__ import annotations

import io

from core.domain.spreadsheets import append_row, csv_text, safe_cell, set_cell

NO_DATA = "无数据"

COLUMNS = [
    ("windows_scheduled", "应巡查次数 scheduled"), ("windows_patrolled", "按时巡查 patrolled"),
    ("coverage", "覆盖率 coverage"), ("incidents", "问题数 incidents"),
    ("immediate", "即办 immediate"), ("reported", "上报 reported"), ("committed", "承诺 committed"),
    ("resolved_on_time", "按期办结 on time"), ("overdue", "逾期 overdue"), ("escalations", "升级 escalations"),
    ("resident_reports", "居民举报 resident reports"),
]
SOURCE_NAMES = {"device": "巡查上报", "patroller_sms": "网格员短信", "resident_sms": "居民举报", "api": "平台录入",
                "web": "平台录入", "cli": "平台录入"}


def _value(metrics: dict, key: str):
    if key in ("immediate", "reported", "committed"):
        return metrics["by_handling"].get(key, 0)
    if key == "coverage" and metrics[key] is None:
        return NO_DATA
    return metrics[key]


def _score(value):
    return NO_DATA if value is None else value


def table(data: dict) -> tuple[list[str], list[list]]:
    header = ["排名 rank", "代码 code", "名称 name"]
    for _, label in COLUMNS:
        header += [label, f"上周 prev: {label}"]
    header += ["得分 score", "上周得分 prev score"]
    rows = []
    for row in data["communities"]:  # stored ranked: score descending, 无数据 last
        line = [row["rank"] if row.get("rank") is not None else "—", row["code"], row["name"]]
        for key, _ in COLUMNS:
            line += [_value(row["current"], key), _value(row["previous"], key)]
        rows.append(line + [_score(row["score"]), _score(row["previous_score"])])
    total = ["", data["subdistrict"]["code"], data["subdistrict"]["name"] + " 合计"]
    for key, _ in COLUMNS:
        total += [_value(data["total"]["current"], key), _value(data["total"]["previous"], key)]
    rows.append(total + ["", ""])
    return header, rows


def _category_codes(data: dict) -> list[str]:
    used = {c for row in data["communities"] for part in ("current", "previous") for c in row[part]["by_category"]}
    order = [c for c in data.get("category_order", []) if c in used]
    return order + sorted(used - set(order))


def row_label(data: dict) -> str:
    """社区 for a sub-district's report, 街道 for a district's (reports stored before districts: 社区)."""
    return {"community": "社区", "subdistrict": "街道"}.get(data.get("row_kind", "community"), "社区")


def category_name(data: dict, code: str) -> str:
    return data.get("category_names", {}).get(code) or code


def categories_table(data: dict) -> tuple[list[str], list[list]]:
    codes = _category_codes(data)
    sources = sorted({s for row in data["communities"] for s in row["current"]["by_source"]})
    header = (["代码 code", "名称 name"] + [category_name(data, c) for c in codes] + ["合计 total"]
              + [f"来源 {SOURCE_NAMES.get(s, s)}" for s in sources])
    rows = []
    for row in data["communities"]:
        counts = [row["current"]["by_category"].get(c, 0) for c in codes]
        rows.append([row["code"], row["name"]] + counts + [sum(counts)]
                    + [row["current"]["by_source"].get(s, 0) for s in sources])
    totals = [data["total"]["current"]["by_category"].get(c, 0) for c in codes]
    rows.append([data["subdistrict"]["code"], data["subdistrict"]["name"] + " 合计"] + totals + [sum(totals)]
                + [data["total"]["current"]["by_source"].get(s, 0) for s in sources])
    return header, rows


def to_csv(data: dict) -> str:
    header, rows = table(data)
    return csv_text([header, *rows])


def _width(value) -> float:
    text = str(value if value is not None else "")
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _format_sheet(sheet, header_row: int, title: str, columns: int) -> None:
    # local: openpyxl loads only for an .xlsx file
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    set_cell(sheet, 1, 1, title).font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(1, min(columns, 12)))
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=4 if columns > 3 else 1)
    for index in range(1, columns + 1):
        letter = get_column_letter(index)
        longest = max((_width(c.value) for c in sheet[letter][header_row:]), default=4)
        header_width = min(_width(sheet.cell(row=header_row, column=index).value), 24)
        sheet.column_dimensions[letter].width = max(6, min(40, max(longest, header_width / 2 + 2) + 2))
    sheet.row_dimensions[header_row].height = 45


def to_xlsx(data: dict) -> bytes:
    # local: openpyxl loads only for an .xlsx file
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    area = data["subdistrict"]
    week = f"{data['week']['start']} 至 {data['week']['end']}"
    book = Workbook()
    sheet = book.active
    sheet.title = "周报排名"
    header, rows = table(data)
    append_row(sheet, [""])  # title row, written by _format_sheet
    append_row(sheet, [f"统计周期 {week}（不含末日）；得分公式 score = {data['score_formula']}；"
                    f"无排班的{row_label(data)}记为{NO_DATA}，不参与排名"])
    append_row(sheet, header)
    for row in rows:
        append_row(sheet, row)
    sheet.cell(row=sheet.max_row, column=3).font = Font(bold=True)
    percent_columns = [i + 1 for i, label in enumerate(header) if "覆盖率" in label]
    for line in sheet.iter_rows(min_row=4):
        for cell in line:
            if cell.column in percent_columns and isinstance(cell.value, (int, float)):
                cell.number_format = "0.0%"
    _format_sheet(sheet, 3, f"{area['name']}（{area['code']}）网格巡查周报 {week}", len(header))

    detail = book.create_sheet("问题分类")
    header, rows = categories_table(data)
    append_row(detail, [""])
    append_row(detail, [f"本周发现问题，按类别与{row_label(data)}统计"])
    append_row(detail, header)
    for row in rows:
        append_row(detail, row)
    _format_sheet(detail, 3, f"{area['name']}（{area['code']}）问题分类统计 {week}", len(header))

    codes = _category_codes(data)
    if codes:
        chart_sheet = book.create_sheet("分类图表")
        append_row(chart_sheet, ["类别", "问题数"])
        for code in codes:
            append_row(chart_sheet, [category_name(data, code), data["total"]["current"]["by_category"].get(code, 0)])
        chart = BarChart()
        chart.type = "col"
        chart.title = safe_cell(f"{area['name']} 本周问题分类")
        chart.y_axis.title = "问题数"
        chart.x_axis.title = "类别"
        chart.add_data(Reference(chart_sheet, min_col=2, min_row=1, max_row=len(codes) + 1), titles_from_data=True)
        chart.set_categories(Reference(chart_sheet, min_col=1, min_row=2, max_row=len(codes) + 1))
        chart.width, chart.height = 18, 9
        chart_sheet.column_dimensions["A"].width = 16
        chart_sheet.add_chart(chart, "D2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
