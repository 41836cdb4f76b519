"""A stored weekly report as CSV or XLSX: one row per community (and the sub-district total), this week's
figures with last week's beside them, score and rank. Column headers are Chinese first with English."""
from __future__ import annotations

import csv
import io

COLUMNS = [
    ("windows_scheduled", "应巡查次数 scheduled"), ("windows_patrolled", "按时巡查 patrolled"),
    ("coverage", "覆盖率 coverage"), ("incidents", "问题数 incidents"),
    ("immediate", "即办 immediate"), ("reported", "上报 reported"), ("committed", "承诺 committed"),
    ("resolved_on_time", "按期办结 on time"), ("overdue", "逾期 overdue"), ("escalations", "升级 escalations"),
    ("resident_reports", "居民举报 resident reports"),
]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """OWASP's rule against spreadsheet formula injection: text a person typed (area, community, category
    names) that starts like a formula gets a leading apostrophe, so Excel/WPS show it as text. Numbers stay
    numbers. Every CSV and XLSX the project writes passes its cells through here."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [neutralise(value) for value in row]


def _value(metrics: dict, key: str):
    if key in ("immediate", "reported", "committed"):
        return metrics["by_handling"].get(key, 0)
    return metrics[key]


def table(data: dict) -> tuple[list[str], list[list]]:
    header = ["代码 code", "名称 name"]
    for _, label in COLUMNS:
        header += [label, f"上周 prev: {label}"]
    header += ["得分 score", "上周得分 prev score", "排名 rank"]
    rows = []
    for row in data["communities"]:
        line = [row["code"], row["name"]]
        for key, _ in COLUMNS:
            line += [_value(row["current"], key), _value(row["previous"], key)]
        rows.append(line + [row["score"], row["previous_score"], row["rank"]])
    total = [data["subdistrict"]["code"], data["subdistrict"]["name"] + " 合计"]
    for key, _ in COLUMNS:
        total += [_value(data["total"]["current"], key), _value(data["total"]["previous"], key)]
    rows.append(total + ["", "", ""])
    return header, rows


def categories_table(data: dict) -> tuple[list[str], list[list]]:
    codes = sorted({c for row in data["communities"] for part in ("current", "previous")
                    for c in row[part]["by_category"]})
    sources = sorted({s for row in data["communities"] for s in row["current"]["by_source"]})
    header = ["代码 code", "名称 name"] + [f"类别 {c}" for c in codes] + [f"来源 {s}" for s in sources]
    rows = [[row["code"], row["name"]] + [row["current"]["by_category"].get(c, 0) for c in codes]
            + [row["current"]["by_source"].get(s, 0) for s in sources] for row in data["communities"]]
    return header, rows


def to_csv(data: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header, rows = table(data)
    writer.writerow(safe_row(header))
    writer.writerows(safe_row(row) for row in rows)
    return "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(data: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "周报 weekly"
    _append(sheet, [f"{data['subdistrict']['name']} 周报 {data['week']['start']} – {data['week']['end']}"])
    _append(sheet, [f"得分公式 score = {data['score_formula']}"])
    header, rows = table(data)
    _append(sheet, header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        _append(sheet, row)
    percent_columns = [i + 1 for i, label in enumerate(header) if "覆盖率" in label]
    for row in sheet.iter_rows(min_row=4):
        for cell in row:
            if cell.column in percent_columns and isinstance(cell.value, float):
                cell.number_format = "0%"
    detail = book.create_sheet("分类 categories")
    header, rows = categories_table(data)
    _append(detail, header)
    for row in rows:
        _append(detail, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet, row) -> None:
    """Append a row with every text cell stored as a string, never as a formula (openpyxl would store a
    value starting with "=" as a live formula), after the OWASP apostrophe."""
    sheet.append(safe_row(row))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
