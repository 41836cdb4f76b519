"""Reading the roster files offices already keep: CSV (UTF-8, UTF-8 with BOM, or GB18030 from Excel) and XLSX.

Only turns bytes into (line number, {column: text}) rows with the headers mapped to our column names;
`core.domain.roster` decides what the rows mean. Line numbers are the ones a clerk sees in Excel or a
text editor, so error reports point at the right row.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache

from core.domain.errors import Invalid

HEADER_ALIASES = {
    "community": ("community", "社区", "所属社区", "社区名称", "二级网格", "社区(二级网格)"),
    "grid": ("grid", "网格", "网格名称", "所属网格", "三级网格", "网格(三级网格)"),
    "name": ("name", "姓名", "名字", "人员姓名"),
    "phone": ("phone", "电话", "手机", "手机号", "手机号码", "联系电话", "电话号码", "联系方式"),
    "role": ("role", "角色", "职务", "职位", "岗位", "网格职务"),
    "rank": ("rank", "排序", "顺序", "序位"),
}
REQUIRED_COLUMNS = ("community", "name", "phone", "role")
MAX_ROWS = 20000
HEADER_SEARCH_ROWS = 5

_ALIAS_TO_COLUMN = {alias.lower(): column for column, aliases in HEADER_ALIASES.items() for alias in aliases}


@dataclass
class RosterTable:
    columns: dict[str, str]  # our column name -> header as written in the file
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # row["_sheet"]: multi-sheet XLSX
    format: str = "csv"
    skipped_sheets: list[dict] = field(default_factory=list)


@lru_cache(maxsize=1)
def _t2s():
    # local: OpenCC builds its tables on first use
    from opencc import OpenCC
    return OpenCC("t2s")


def simplify(text: str) -> str:
    """Traditional → simplified, full-width spaces out: 網格員 and 网格员 are the same word to a clerk."""
    return _t2s().convert(text.replace("\u3000", " ").strip())


def cell_text(value) -> str:
    """Excel hands back phone numbers as 13800138000 or 13800138000.0; a clerk means the digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\u3000", " ").strip()


def _map_headers(header: list[str]) -> tuple[dict[int, str], dict[str, str]]:
    by_index: dict[int, str] = {}
    columns: dict[str, str] = {}
    for index, raw in enumerate(header):
        key = simplify(raw).lower().replace(" ", "").lstrip("*")
        column = _ALIAS_TO_COLUMN.get(key)
        if column and column not in columns:
            by_index[index] = column
            columns[column] = raw
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        expected = {c: list(HEADER_ALIASES[c]) for c in missing}
        raise Invalid(f"the header row lacks the column(s) {', '.join(missing)}",
                      code="roster_columns_missing",
                      details={"columns": [f"Missing column {c!r}; write one of: {', '.join(HEADER_ALIASES[c])}."
                                           for c in missing],
                               "header": header, "expected": expected})
    return by_index, columns


def _table_from_rows(numbered: list[tuple[int, list]], fmt: str) -> RosterTable:
    numbered = [(line, [cell_text(v) for v in values]) for line, values in numbered]
    numbered = [(line, values) for line, values in numbered if any(values)]
    if not numbered:
        raise Invalid("the file has no rows", code="roster_empty", details={"file": ["The file is empty."]})
    # Office sheets often open with a title row ("映月街道网格员花名册") above the real header.
    header_at, first_error = 0, None
    for index, (_, candidate) in enumerate(numbered[:HEADER_SEARCH_ROWS]):
        try:
            _map_headers(candidate)
        except Invalid as exc:
            first_error = first_error or exc
            continue
        header_at = index
        break
    else:
        raise first_error
    (_, header), body = numbered[header_at], numbered[header_at + 1:]
    if len(body) > MAX_ROWS:
        raise Invalid(f"the file has {len(body)} rows; import at most {MAX_ROWS} at once", code="roster_too_long",
                      details={"file": [f"At most {MAX_ROWS} rows per import."]})
    # A NUL byte is file damage, not a name; PostgreSQL cannot even search for it (SQLite would store it).
    damaged = [line for line, values in body if any("\x00" in value for value in values)]
    if damaged:
        raise Invalid(f"line(s) {', '.join(map(str, damaged[:20]))} hold a NUL character; is the file damaged?",
                      code="roster_malformed",
                      details={"file": [f"Line {line}: a cell holds a NUL (0x00) character." for line in damaged[:20]]})
    by_index, columns = _map_headers(header)
    table = RosterTable(columns=columns, format=fmt)
    for line, values in body:
        row = {column: values[i] if i < len(values) else "" for i, column in by_index.items()}
        table.rows.append((line, row))
    return table


def decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Invalid("the CSV file is neither UTF-8 nor GB18030 text", code="roster_encoding",
                      details={"file": ["Save the file as CSV UTF-8 (or GB18030), or as .xlsx."]}) from exc


def read_csv(data: bytes) -> RosterTable:
    text = decode_csv(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ("，" if "，" in first_line and ","
                                                                             not in first_line else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    numbered = []
    try:
        for values in reader:
            numbered.append((reader.line_num, values))
    except csv.Error as exc:
        raise Invalid(f"the CSV file is malformed near line {reader.line_num}: {exc}", code="roster_malformed",
                      details={"file": [f"Line {reader.line_num}: {exc}."]}) from exc
    return _table_from_rows(numbered, "csv")


def read_xlsx(data: bytes) -> RosterTable:
    # local: openpyxl loads only for an .xlsx file
    from openpyxl import load_workbook
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise Invalid("the XLSX file cannot be read", code="roster_malformed",
                      details={"file": [f"Not a readable .xlsx workbook ({type(exc).__name__})."]}) from exc
    sheets: list[tuple[str, RosterTable]] = []
    skipped: list[dict] = []
    first_error: Invalid | None = None
    try:
        for sheet in workbook.worksheets:
            numbered = [(i, list(values)) for i, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
            if not any(cell_text(v) for _, values in numbered for v in values):
                continue
            try:
                sheets.append((sheet.title, _table_from_rows(numbered, "xlsx")))
            except Invalid as exc:  # a notes or summary sheet; said in the report, never silently dropped
                first_error = first_error or exc
                skipped.append({"sheet": sheet.title, "reason": exc.message})
    finally:
        workbook.close()
    if not sheets:
        raise first_error or Invalid("the workbook has no rows", code="roster_empty",
                                     details={"file": ["The workbook is empty."]})
    if len(sheets) == 1:
        table = sheets[0][1]
    else:  # offices often keep one sheet per community: import them all, errors name the sheet
        table = RosterTable(columns=sheets[0][1].columns, format="xlsx")
        for title, part in sheets:
            table.rows.extend((line, {**row, "_sheet": title}) for line, row in part.rows)
    table.skipped_sheets = skipped
    return table


def read_roster(data: bytes, filename: str | None = None) -> RosterTable:
    """Pick the reader from the bytes themselves (a renamed file still works), then the name."""
    if not data:
        raise Invalid("the file is empty", code="roster_empty", details={"file": ["The file is empty."]})
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise Invalid("old .xls workbooks are not read", code="roster_format",
                      details={"file": ["Save the sheet as .xlsx or CSV UTF-8 and import that."]})
    if data.startswith(b"PK\x03\x04") or (filename or "").lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)
