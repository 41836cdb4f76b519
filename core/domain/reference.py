"""Reference data a fresh installation needs before its first text: the problem catalogue and the upper
area levels (district, sub-district) that a roster hangs under.

Why a post-upgrade step and not a data migration: the catalogue lives once, in Python
(core/domain/catalogue.py, shared with the demo and the tests); a migration would freeze a second copy
that drifts, and databases built by create_all (tests) would never get it. The step seeds only a catalogue
that has never had a row, so an office's later edits, disables and deletions are never undone by the next
`gridpatrol db upgrade`.
"""
from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain.areas import area_by_code, create_area
from core.domain.catalogue import seed_categories
from core.domain.errors import Invalid, NotFound
from core.models import Area, Category


def seed_reference_data(session: Session) -> dict:
    """After migrations: the standard catalogue (SMS numbers 1–10, keywords) when the table is empty."""
    if session.scalar(select(func.count()).select_from(Category)):
        return {"categories_added": 0}
    return {"categories_added": seed_categories(session)}


# ---------------------------------------------------------------- upper area levels
def add_area(session: Session, *, code: str, name: str, kind: str, parent_code: str | None = None,
             timezone: str | None = None) -> tuple[Area, bool]:
    """Create an area, or return the existing one with that code when it matches (idempotent imports).
    Returns (area, created)."""
    parent = None
    if parent_code:
        parent = area_by_code(session, parent_code)
        if parent is None or parent.deleted_at is not None:
            raise NotFound(f"no area with code {parent_code}", details={"parent": [f"No area {parent_code!r}."]})
    existing = area_by_code(session, code)
    if existing is not None:
        if existing.name != name or existing.kind != kind or existing.parent_id != (parent.id if parent else None):
            raise Invalid(f"area {existing.code} exists as {existing.kind} {existing.name}",
                          code="area_differs", details={"code": [f"{existing.code} is taken by {existing.name}."]})
        return existing, False
    name = (name or "").strip()
    if not name:
        raise Invalid("an area needs a name", details={"name": ["Missing."]})
    return create_area(session, code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                       timezone=timezone), True


AREA_COLUMNS = {"code": ("code", "代码", "编码", "编号"), "name": ("name", "名称", "名字"),
                "kind": ("kind", "类型", "层级", "级别"), "parent": ("parent", "上级", "上级代码"),
                "timezone": ("timezone", "时区")}
KIND_WORDS = {"区": "district", "县": "district", "district": "district", "街道": "subdistrict", "镇": "subdistrict",
              "乡": "subdistrict", "subdistrict": "subdistrict", "社区": "community", "村": "community",
              "community": "community", "网格": "grid", "grid": "grid", "other": "other"}


def import_areas(session: Session, data: bytes) -> dict:
    """A CSV (UTF-8, BOM or GB18030) with code, name, kind, parent[, timezone] — English or Chinese headers,
    parents before children. All or nothing (the caller commits). Rows that already exist as written are
    counted `unchanged`."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("the file is neither UTF-8 nor GB18030 text", code="bad_encoding")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise Invalid("the file is empty", code="empty_file")
    header = [h.strip().lower() for h in rows[0]]
    index = {}
    for key, names in AREA_COLUMNS.items():
        for position, cell in enumerate(header):
            if cell in names:
                index[key] = position
    missing = [k for k in ("code", "name", "kind") if k not in index]
    if missing:
        raise Invalid(f"missing columns: {', '.join(missing)}", code="missing_columns",
                      details={"columns": missing})
    created, unchanged, errors = [], 0, []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = lambda key: row[index[key]].strip() if key in index and index[key] < len(row) else ""  # noqa: E731
        kind = KIND_WORDS.get(cell("kind").lower(), cell("kind").lower())
        try:
            area, was_new = add_area(session, code=cell("code"), name=cell("name"), kind=kind,
                                     parent_code=cell("parent") or None, timezone=cell("timezone") or None)
        except (Invalid, NotFound) as exc:
            errors.append({"line": line, "message": exc.message, "value": cell("code")})
            continue
        if was_new:
            created.append(area.code)
        else:
            unchanged += 1
    if errors:
        raise Invalid(f"{len(errors)} row(s) refused; nothing imported", code="areas_rejected",
                      details={"errors": errors})
    return {"created": created, "unchanged": unchanged}


_CODE_PREFIX = re.compile(r"^[A-Za-z]+")


def ensure_parent_path(session: Session, parent_code: str, path: str) -> tuple[Area, list[str]]:
    """`roster import --parent CJ05 --create-parent "澄江区/映月街道"`: find or create the district and the
    sub-district the roster hangs under. Segments are `名称` or `CODE:名称`; the last one's code defaults to
    --parent, a district's to the letters that start it (CJ05 → CJ). Returns (parent, created codes)."""
    segments = [s.strip() for s in path.replace("／", "/").split("/") if s.strip()]
    if not segments or len(segments) > 2:
        raise Invalid("--create-parent takes 区/街道 (or just 街道), e.g. 澄江区/映月街道",
                      details={"create_parent": ["One or two levels: district/sub-district."]})
    kinds = ["district", "subdistrict"][-len(segments):]
    parsed = []
    for position, segment in enumerate(segments):
        code, _, name = segment.rpartition(":") if ":" in segment else ("", "", segment)
        if not code:
            if position == len(segments) - 1:
                code = parent_code
            else:
                match = _CODE_PREFIX.match(parent_code or "")
                code = match.group(0) if match and match.group(0) != parent_code else ""
        if not code:
            raise Invalid(f"give {name} a code: CODE:{name}", details={"create_parent": ["A code is needed."]})
        parsed.append((code.strip().upper(), name.strip()))
    if parsed[-1][0] != parent_code.strip().upper():
        raise Invalid("the last level of --create-parent must be the --parent area",
                      details={"create_parent": [f"Expected {parent_code}."]})
    created, parent = [], None
    for (code, name), kind in zip(parsed, kinds):
        existing = area_by_code(session, code)
        if existing is None and kind == "district":
            existing = session.scalar(select(Area).where(Area.name == name, Area.kind == "district",
                                                         Area.deleted_at.is_(None)))
        if existing is not None:
            parent = existing
            continue
        parent = create_area(session, code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
        created.append(parent.code)
    return parent, created
