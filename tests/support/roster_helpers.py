"""Real roster files, written the way offices' tools write them: CSV (UTF-8 with BOM, GB18030) and XLSX."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook

HEADER_ZH = ["社区", "网格", "姓名", "手机", "职务"]
HEADER_EN = ["community", "grid", "name", "phone", "role"]


def csv_bytes(rows: list[list], header=HEADER_ZH, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header=HEADER_ZH, title: str = "花名册") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# A roster for the test world's sub-district HD03: one existing community (映月社区, by name), one new.
GOOD_ROWS = [
    ["映月社区", "映月一网格", "冯巡查", "170 0100 0001", "网格员"],
    ["映月社区", "映月三网格", "陈组长", "17001000002", "组长"],
    ["映月社区", "映月三网格", "林副组长", "+86 170-0100-0003", "副组长"],
    ["映月社区", "映月三网格", "冯巡查", "170 0100 0001", "巡查员"],  # same person, another grid
    ["新华社区", "", "何书记", "17001000004", "社区书记"],
    ["新华社区", "", "高主任", "17001000005", "社区副主任"],
    ["新华社区", "新华一网格", "罗网格长", "17001000006", "网格长"],
    ["新华社区", "新华一网格", "梁巡查", "17001000007", "网格员"],
    ["新华社区", "新华二网格", "谢巡查", "17001000008", "兼职网格员"],
]
