"""The one writer of spreadsheet cells: every CSV and XLSX cell the project writes goes through here.

Why: a site's name, an area's name or an address typed on a phone ends up in the ledger, the weekly report
and its titles. Excel, WPS and LibreOffice run a cell that starts like a formula (`=HYPERLINK(...)`,
`+1+2`, `@SUM(...)`), so a value a device synced could open a link or read other cells when a leader opens
the export. OWASP's rule (CSV injection): a text cell that begins with = + - @ tab or CR — also after
leading whitespace, and in their full-width forms, which East Asian spreadsheet input turns into the
ASCII ones — gets a leading apostrophe, so the program shows it as text. Numbers stay numbers. XLSX text
cells are also stored as strings (openpyxl would otherwise store a value starting with "=" as a live
formula). tests/security/test_exports.py builds every export with hostile values and scans every cell.

    safe_cell(value)            the value as it may be written (text neutralised, numbers untouched)
    csv_text(rows)              rows as CSV text with a BOM (Excel opens UTF-8 Chinese correctly)
    append_row(sheet, row)      an openpyxl worksheet row, every cell through safe_cell, text as strings
    set_cell(sheet, row, column, value)   one cell (a title), the same way; returns the cell
"""
from __future__ import annotations

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value):
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS)):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe_cell(value) for value in row]


def csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(safe_row(row) for row in rows)
    return "\ufeff" + buffer.getvalue()


def _as_text(cell) -> None:
    if isinstance(cell.value, str):
        cell.data_type = "s"


def append_row(sheet, row) -> None:
    sheet.append(safe_row(row))
    for cell in sheet[sheet.max_row]:
        _as_text(cell)


def set_cell(sheet, row: int, column: int, value):
    cell = sheet.cell(row=row, column=column, value=safe_cell(value))
    _as_text(cell)
    return cell
