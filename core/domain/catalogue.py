"""The seeded problem catalogue: SMS number codes and the Chinese words people actually type."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Category

DEFAULT_CATEGORIES = [
    # number, code, 中文, English, keywords, urgent
    (1, "dust", "扬尘", "dust", ["扬尘", "灰尘", "尘土", "起尘", "粉尘"], False),
    (2, "construction_dust", "工地扬尘", "construction-site dust", ["工地", "施工", "渣土", "工地扬尘"], False),
    (3, "garbage_burning", "垃圾焚烧", "garbage burning", ["烧垃圾", "垃圾焚烧", "焚烧垃圾", "垃圾"], False),
    (4, "straw_burning", "秸秆焚烧", "straw burning", ["秸秆", "烧秸秆", "麦秆", "烧荒", "落叶"], False),
    (5, "coal", "散煤/燃煤炉", "loose coal / coal stove",
     ["烧煤", "煤炉", "散煤", "燃煤", "蜂窝煤", "煤球", "煤"], False),
    (6, "fireworks", "烟花爆竹", "fireworks", ["烟花", "鞭炮", "爆竹", "放炮", "炮仗"], True),
    (7, "cured_meat", "熏制腊肉", "cured-meat smoking", ["腊肉", "熏肉", "熏制", "熏腊肉", "香肠"], False),
    (8, "cooking_fumes", "餐饮油烟", "cooking fumes", ["油烟", "烧烤", "餐馆", "饭店"], False),
    (9, "industrial", "工业排放", "industrial emissions", ["工厂", "排放", "烟囱", "废气", "冒黑烟"], False),
    (10, "other", "其他", "other", ["其他", "其它"], False),
]


def seed_categories(session: Session) -> int:
    """Insert the catalogue's missing categories; safe to run twice. Returns how many were added."""
    existing = set(session.scalars(select(Category.code)))
    added = 0
    for number, code, zh, en, keywords, urgent in DEFAULT_CATEGORIES:
        if code in existing:
            continue
        session.add(Category(number=number, code=code, name_zh=zh, name_en=en, keywords=keywords, urgent=urgent))
        added += 1
    session.flush()
    return added
