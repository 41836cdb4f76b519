"""`gridpatrol catalogue list|add|disable` and `gridpatrol areas add|import|list`: the reference data an
office sets up from a shell before the server runs. Thin adapters over core/domain/reference.py
and core/domain/categories.py; every write is audited with channel `cli`.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from server.cli.common import CLI_ACTOR, build_app, domain_errors

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


# ---------------------------------------------------------------- catalogue
@click.group("catalogue")
def catalogue_group() -> None:
    """The problem catalogue (categories with SMS numbers and keywords)."""


@catalogue_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="include disabled categories")
@click.option("--json", "as_json", is_flag=True)
@domain_errors
def catalogue_list(show_all: bool, as_json: bool) -> None:
    """Every category: SMS number, code, Chinese and English names, keywords."""
    from sqlalchemy import select

    from core.db import db
    from core.models import Category
    app = build_app()
    with app.app_context():
        query = select(Category).where(Category.deleted_at.is_(None)).order_by(Category.number)
        if not show_all:
            query = query.where(Category.active.is_(True))
        rows = [{"number": c.number, "code": c.code, "name_zh": c.name_zh, "name_en": c.name_en,
                 "keywords": c.keywords, "urgent": c.urgent, "active": c.active}
                for c in db.session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("the catalogue is empty: run `gridpatrol db upgrade` (it seeds the standard catalogue)")
    for row in rows:
        flags = (" 紧急" if row["urgent"] else "") + ("" if row["active"] else " (disabled)")
        click.echo(f"{row['number']:>3}  {row['code']:<20} {row['name_zh']} / {row['name_en']}{flags}  "
                   f"[{'、'.join(row['keywords'])}]")


@catalogue_group.command("add")
@click.option("--number", type=click.IntRange(1, 999), required=True, help="the number texted in SMS")
@click.option("--code", required=True, help="a short English code, e.g. boiler")
@click.option("--zh", "name_zh", required=True, help="中文名称")
@click.option("--en", "name_en", required=True, help="English name")
@click.option("--keyword", "keywords", multiple=True, help="a word residents type (repeatable)")
@click.option("--urgent", is_flag=True, help="alerts ignore quiet hours")
@domain_errors
def catalogue_add(number, code, name_zh, name_en, keywords, urgent) -> None:
    """Add a category."""
    from core.domain import audit
    from core.domain.categories import create_category
    from core.db import db
    app = build_app()
    with app.app_context():
        category = create_category(db.session, {"number": number, "code": code.strip(), "name_zh": name_zh.strip(),
                                                "name_en": name_en.strip(), "keywords": list(keywords),
                                                "urgent": urgent})
        audit.record(db.session, "category.create", channel="cli", actor_label=CLI_ACTOR, entity="category",
                     entity_id=category.id, summary={"code": category.code, "number": number})
        db.session.commit()
    click.echo(f"added {number} {code} {name_zh}")


@catalogue_group.command("disable")
@click.argument("code_or_number")
@domain_errors
def catalogue_disable(code_or_number: str) -> None:
    """Disable a category (kept for the incidents filed under it; SMS and new reports stop offering it)."""
    from sqlalchemy import or_, select

    from core.domain import audit
    from core.domain.errors import NotFound
    from core.db import db
    from core.models import Category
    app = build_app()
    with app.app_context():
        condition = Category.code == code_or_number
        if code_or_number.isdigit():
            condition = or_(condition, Category.number == int(code_or_number))
        category = db.session.scalar(select(Category).where(condition, Category.deleted_at.is_(None)))
        if category is None:
            raise NotFound(f"no category {code_or_number}")
        category.active = False
        audit.record(db.session, "category.disable", channel="cli", actor_label=CLI_ACTOR, entity="category",
                     entity_id=category.id, summary={"code": category.code})
        db.session.commit()
        click.echo(f"disabled {category.number} {category.code} {category.name_zh}")


# ---------------------------------------------------------------- areas
@click.group("areas")
def areas_group() -> None:
    """Areas above the roster: district (区) and sub-district (街道); list any level."""


@areas_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--kind", type=click.Choice(["district", "subdistrict", "community", "grid", "other"]),
              default="subdistrict", show_default=True)
@click.option("--parent", "parent_code", default=None, help="code of the area above")
@click.option("--timezone", default=None, help="IANA zone, e.g. Asia/Urumqi (default: GRIDPATROL_TIMEZONE)")
@domain_errors
def areas_add(code, name, kind, parent_code, timezone) -> None:
    """Add an area, e.g. `gridpatrol areas add CJ 澄江区 --kind district`."""
    from core.domain import audit
    from core.domain.reference import add_area
    from core.db import db
    app = build_app()
    with app.app_context():
        area, created = add_area(db.session, code=code, name=name, kind=kind, parent_code=parent_code,
                                 timezone=timezone)
        if created:
            audit.record(db.session, "area.create", channel="cli", actor_label=CLI_ACTOR, entity="area",
                         entity_id=area.id, summary={"code": area.code, "kind": kind})
        db.session.commit()
        click.echo(f"{'added' if created else 'exists'} {area.code} {area.name} ({area.kind})")


@areas_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@domain_errors
def areas_import(file: Path) -> None:
    """Import areas from CSV: code,name,kind,parent[,timezone] (or 代码,名称,类型,上级), parents first."""
    from core.domain import audit
    from core.domain.reference import import_areas
    from core.domain.errors import Invalid
    from core.db import db
    app = build_app()
    with app.app_context():
        try:
            report = import_areas(db.session, file.read_bytes())
        except Invalid as exc:
            db.session.rollback()
            for error in exc.details.get("errors", []):
                click.echo(f"line {error['line']}: {error['message']} [{error['value']}]")
            raise
        audit.record(db.session, "area.import", channel="cli", actor_label=CLI_ACTOR, entity="area",
                     summary={"created": report["created"][:50], "file": file.name})
        db.session.commit()
    click.echo(f"imported: {len(report['created'])} created, {report['unchanged']} unchanged")


@areas_group.command("list")
@click.option("--under", "under", default=None, help="only this area's subtree")
@click.option("--depth", type=int, default=None, help="levels below the top to show")
@click.option("--json", "as_json", is_flag=True)
@domain_errors
def areas_list(under, depth, as_json) -> None:
    """The area tree, indented."""
    from sqlalchemy import select

    from core.domain.areas import area_by_code
    from core.domain.errors import NotFound
    from core.db import db
    from core.models import Area
    app = build_app()
    with app.app_context():
        query = select(Area).where(Area.deleted_at.is_(None)).order_by(Area.path)
        top = 0
        if under:
            root = area_by_code(db.session, under)
            if root is None:
                raise NotFound(f"no area with code {under}")
            query, top = query.where(Area.path.startswith(root.path)), root.depth
        rows = [{"code": a.code, "name": a.name, "kind": a.kind, "depth": a.depth - top,
                 "parent": a.parent.code if a.parent else None} for a in db.session.scalars(query)]
    rows = [r for r in rows if depth is None or r["depth"] <= depth]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{'  ' * row['depth']}{row['code']}  {row['name']}  ({row['kind']})")
    if not rows:
        click.echo("no areas yet: `gridpatrol areas add CJ 澄江区 --kind district`")


commands = [catalogue_group, areas_group]
