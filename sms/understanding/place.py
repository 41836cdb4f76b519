"""Where a resident's text is about: place mentions (roads, numbers, estates, villages, communities) and the
deepest area whose gazetteer entry the text names.

The gazetteer is every area's name (also without its 社区/街道/网格/村 suffix) plus the aliases, roads and
estates an office adds per area (`gridpatrol areas alias CJ05-1-3 映月路 东风小区`) — never a generic word
like 楼下 or 小区 (core.domain.place_names, which also keeps names unique and unshadowed). The deepest matching
area wins (a grid's road beats its community's name), then the longest name. No match: the caller's intake
area.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.domain.place_names import routing_names

CJK = r"\u3400-\u9fff"
# A mention starts after the last of these: "门口有人在映月路" → "映月路".
LEAD = re.compile(r".*(?:在|到|的|了|有|是|就|那|这|个|我|你|他|她|们|"
                  r"旁边|门口|附近|对面|楼下|住|说|从|和|跟|里|上|下|边|后|前)")
PATTERNS = (
    ("road", re.compile(rf"[{CJK}]{{1,8}}?(?:大道|大街|路|街|巷|胡同|弄)(?:\d+号(?:院|楼)?)?")),
    ("estate", re.compile(rf"[{CJK}]{{1,8}}?(?:小区|家园|花园|苑|公寓|新村|大院|市场)")),
    ("village", re.compile(rf"[{CJK}]{{1,6}}?村")),
    ("community", re.compile(rf"[{CJK}]{{1,6}}?社区")),
    ("number", re.compile(r"\d{1,4}(?:号楼|号院|栋|幢|单元|号|楼)")),
)


@dataclass(frozen=True)
class Entry:
    name: str
    area_id: int
    code: str
    depth: int
    source: str  # name | alias


@dataclass
class Gazetteer:
    entries: list[Entry] = field(default_factory=list)
    names: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # area_id -> (code, name, kind)

    def add_area(self, area_id: int, code: str, name: str, kind: str, depth: int, aliases=()) -> None:
        self.names[area_id] = (code, name, kind)
        # core.domain.place_names decides what a name routes by (never a generic word such as 楼下)
        for variant in routing_names(name):
            self.entries.append(Entry(variant, area_id, code, depth, "name"))
        for alias in aliases:
            for variant in routing_names(alias, strip_suffix=False):
                self.entries.append(Entry(variant, area_id, code, depth, "alias"))

    def words(self) -> set[str]:
        return {e.name for e in self.entries}

    def match(self, text: str) -> Entry | None:
        best = None
        for entry in self.entries:
            if entry.name in text and (best is None or (entry.depth, len(entry.name)) > (best.depth, len(best.name))):
                best = entry
        return best


def mentions(text: str) -> list[dict]:
    """Place phrases as written, for the ticket's location text and for the office's gazetteer work."""
    found: list[dict] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            phrase = match.group()
            lead = LEAD.match(phrase[:-1]) if kind != "number" else None
            if lead:
                start += lead.end()
                phrase = text[start:end]
            if len(phrase) < 2 or any(s <= start < e or s < end <= e for s, e in taken):
                continue
            taken.append((start, end))
            found.append({"kind": kind, "text": phrase, "at": start})
    found.sort(key=lambda m: m["at"])
    return found


def locate(text: str, gazetteer: Gazetteer) -> dict:
    """{"mentions": [...], "area_id", "code", "matched"} — area None when the gazetteer knows no name in it."""
    entry = gazetteer.match(text)
    result = {"mentions": [m["text"] for m in mentions(text)]}
    if entry is not None:
        result.update(area_id=entry.area_id, code=entry.code, matched=entry.name)
    return result
