"""The problem catalogue beyond its seed: numbers stay unique (they are typed in SMS), and a category that
incidents already use is deactivated rather than deleted, so old tickets keep their meaning."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain.errors import Conflict, NotFound
from core.models import Category, Incident, utcnow


def get_category(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id) if 0 < category_id < 2 ** 31 else None
    if category is None or category.deleted_at is not None:
        raise NotFound(f"no category with id {category_id}", details={"id": [f"Unknown category id {category_id}."]})
    return category


def find_category(session: Session, name: str) -> Category:
    """A category by number, code, Chinese or English name (烟花爆竹, 6, fireworks)."""
    name = (name or "").strip()
    query = select(Category)
    if name.isdigit():
        category = session.scalar(query.where(Category.number == int(name)))
    else:
        category = session.scalar(query.where(Category.code == name.casefold())) or session.scalar(
            query.where(Category.name_zh == name)) or session.scalar(query.where(Category.name_en == name))
    if category is None:
        raise NotFound(f"no category {name!r}", details={"category": [f"Unknown category {name!r}."]})
    return category


def _check_unique(session: Session, values: dict, category: Category | None = None) -> None:
    errors = {}
    for field in ("number", "code"):
        if field in values:
            holder = session.scalar(select(Category).where(getattr(Category, field) == values[field]))
            if holder is not None and holder is not category:
                errors[field] = [f"{values[field]} is already used by category {holder.id} ({holder.name_zh})."]
    if errors:
        raise Conflict("a category with that number or code exists", code="duplicate", details=errors)


def clean_keywords(keywords: list[str]) -> list[str]:
    return list(dict.fromkeys(k.strip() for k in keywords if k and k.strip()))


def create_category(session: Session, values: dict) -> Category:
    _check_unique(session, values)
    values = {**values, "keywords": clean_keywords(values.get("keywords", []))}
    category = Category(**values)
    session.add(category)
    session.flush()
    return category


def update_category(session: Session, category: Category, changes: dict) -> Category:
    _check_unique(session, changes, category)
    if "keywords" in changes:
        changes = {**changes, "keywords": clean_keywords(changes["keywords"])}
    for key, value in changes.items():
        setattr(category, key, value)
    session.flush()
    return category


def usage_count(session: Session, category: Category) -> int:
    return session.scalar(select(func.count()).select_from(Incident).where(Incident.category_id == category.id))


def retire_category(session: Session, category: Category) -> str:
    """Delete an unused category; deactivate a used one. Returns "deleted" or "deactivated"."""
    if usage_count(session, category):
        category.active = False
        return "deactivated"
    category.deleted_at = utcnow()
    category.active = False
    return "deleted"
