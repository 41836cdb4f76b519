"""Area names and aliases as the places residents' texts are routed by (sms/understanding/place.py).

A resident's text goes to the deepest area whose name or alias it contains, so a name is more than a
label: an area admin who named a new grid 白马社区 captured the real 白马社区's reports (and read the
reporters' phones), and one named 楼下网格 took every text with 楼下 in it. The rules, for the API, the
CLI and the roster import alike — create_area, update_area, the roster plan and add_aliases all call
`check_place_names` (or, for many names at once, one `PlaceNames`):

1. Generic words are not place names. A name or alias that is, or without its 社区/街道/网格/村 suffix
   becomes, a word like 楼下, 小区, 门口 is refused (422 `generic_place_name`), and the gazetteer never
   routes on one (so an old area named that way stops capturing texts too).
2. Names are unique where they route. A routing name that another area already has is refused (409
   `place_name_taken`) unless one of the two areas lies inside the other (a community and its
   sub-district may share 映月: the deeper one wins and the other's leaders see its reports anyway).
3. Nobody shadows places outside her subtree. An area admin's name or alias may neither contain nor be
   contained in a routing name of an area outside her admin subtree (409 `place_name_shadows`) — except a
   name that contains one of its own ancestors' names (映月社区第十网格 inside 映月街道), which only narrows,
   and a part of an outside name whose texts already go to a deeper area of hers (映月 of 映月街道, when her
   映月社区 already takes every text that says 映月).
   A global admin and the shell's operator reach everywhere, so rules 1 and 2 bind them, not 3.

Aliases are kept by the understanding feature (sms/understanding/models.AreaAlias); they are read here by
their table's name because the domain sits below the features.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from core.domain.errors import Conflict, Invalid
from core.models import Area

SUFFIX = re.compile(r"(社区|街道|网格|街道办|办事处|区|村|镇)$")
GENERIC_PLACE_WORDS = frozenset("""
楼下 楼上 楼道 楼顶 楼后 楼前 楼里 楼下面 单元 小区 小区里 社区 网格 街道 村里 村口 村头 镇上
门口 家门口 小区门口 大门口 附近 附近的 旁边 对面 隔壁 这里 那里 这边 那边 这儿 那儿
路口 路边 马路 马路边 街上 街边 院子 院里 院内 广场 公园 市场 菜市场 学校 工地 停车场
后面 前面 外面 里面 家里 我家 他家 本地 城里 乡下 居委会 物业
""".split())
ALIASES = table("area_aliases", column("area_id"), column("alias"))


def _variants(text: str, strip_suffix: bool) -> set[str]:
    text = (text or "").strip()
    found = {text, SUFFIX.sub("", text)} if strip_suffix else {text}
    return {v.casefold() for v in found if len(v) >= 2}


def routing_names(text: str, *, strip_suffix: bool = True) -> set[str]:
    """What a text is matched against for an area name (also without its suffix) or, with
    strip_suffix=False, an alias: case-folded, two characters or more, never a generic word."""
    return {v for v in _variants(text, strip_suffix) if v not in GENERIC_PLACE_WORDS}


@dataclass(frozen=True)
class _Entry:
    name: str       # a routing name
    area_id: int | None
    path: str       # Area.path (a planned area: a path made up below its parent's)
    label: str      # "映月社区 (HD03-1)" for messages


class PlaceNames:
    """The installation's routing names, read once; `check` a name for an area, `claim` it for a planned one
    (a roster import checks its new communities and grids against the database and against each other)."""

    def __init__(self, session: Session):
        self.entries: list[_Entry] = []
        areas = {row.id: row for row in session.execute(
            select(Area.id, Area.code, Area.name, Area.path).where(Area.deleted_at.is_(None)))}
        for row in areas.values():
            self._add(row.name, row.id, row.path, f"{row.name} ({row.code})", strip_suffix=True)
        for area_id, alias in session.execute(select(ALIASES.c.area_id, ALIASES.c.alias)):
            if area_id in areas:
                row = areas[area_id]
                self._add(alias, area_id, row.path, f"{row.name} ({row.code})", strip_suffix=False)

    def _add(self, text: str, area_id, path: str, label: str, strip_suffix: bool) -> None:
        self.entries += [_Entry(name, area_id, path, label) for name in routing_names(text, strip_suffix=strip_suffix)]

    def claim(self, text: str, *, path: str, label: str, alias: bool = False) -> None:
        self._add(text, None, path, label, strip_suffix=not alias)

    def check(self, text: str, *, path: str, area_id: int | None = None, within: list[str] | None = None,
              alias: bool = False, field: str = "name") -> None:
        """Raise unless `text` may name (or, alias=True, be an alias of) the area at `path` (a new area: its
        parent's path plus "+/"). `within`: the Area.path prefixes where the actor is admin; None or [""]
        means everywhere (a global admin, the shell)."""
        generic = sorted(v for v in _variants(text, not alias) if v in GENERIC_PLACE_WORDS)
        if generic:
            raise Invalid(f"{text!r} is not a place name: {generic[0]} is a word any resident may write",
                          code="generic_place_name",
                          details={field: [f"{text!r} would route every text with {generic[0]!r} in it; give the "
                                           "place's own name."]})
        names = routing_names(text, strip_suffix=not alias)
        others = [e for e in self.entries if e.area_id is None or e.area_id != area_id]
        for entry in others:  # rule 2 first: the answer does not depend on the order of the areas
            related = path.startswith(entry.path) or entry.path.startswith(path)
            if entry.name in names and not related:
                raise Conflict(f"{entry.name!r} already names {entry.label}: a resident's text naming it could "
                               "not be routed", code="place_name_taken",
                               details={field: [f"{entry.name!r} already names {entry.label}; choose a name "
                                                "that does not share it."]})
        if within is None or "" in within:
            return
        def inside(entry_path: str) -> bool:
            return any(entry_path.startswith(p) for p in within)

        def routed_inside_already(entry: _Entry) -> bool:
            """Every text naming `entry` already goes inside `within`: a deeper area there has a name in it."""
            depth = entry.path.count("/")
            return any(other.name in entry.name and other.path.count("/") > depth and inside(other.path)
                       for other in self.entries)

        for entry in others:
            if inside(entry.path):
                continue
            for name in names:
                narrows = path.startswith(entry.path) and entry.name in name and entry.name != name
                takes_nothing = name in entry.name and routed_inside_already(entry)
                if (name in entry.name or entry.name in name) and not (narrows or takes_nothing):
                    raise Conflict(f"{text!r} overlaps {entry.label}, outside your areas: residents' texts about "
                                   "it would be routed here", code="place_name_shadows",
                                   details={field: [f"{text!r} overlaps {entry.label}, which is outside your "
                                                    "areas; an admin over both may choose it."]})


def check_place_names(session: Session, texts: list[str], *, path: str, area_id: int | None = None,
                      within: list[str] | None = None, alias: bool = False, field: str = "name") -> None:
    """`PlaceNames(session).check` for each of `texts` (one area's name, or aliases)."""
    names = PlaceNames(session)
    for text in texts:
        names.check(text, path=path, area_id=area_id, within=within, alias=alias, field=field)


def path_below(parent: Area | None) -> str:
    """The path a new area under `parent` will have, for the checks above (its id is not known yet)."""
    return f"{parent.path if parent is not None else '/'}+/"
