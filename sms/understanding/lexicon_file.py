"""The shipped lexicon (data/lexicon.tsv) as rows of (category, kind, weight, word): what the category rules
start from (category.build_lexicon) and what the cut segmentation dictionary keeps words for
(segment.build). One tab-separated line per category, kind and weight, the words space-separated."""
from __future__ import annotations

from importlib import resources


def read_lexicon_file(text: str) -> list[tuple[str, str, float, str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, kind, weight, words = line.split("\t", 3)
        rows.extend((category, kind, float(weight), word) for word in words.split())
    return rows


def shipped_rows() -> list[tuple[str, str, float, str]]:
    return read_lexicon_file(resources.files("sms.understanding").joinpath("data/lexicon.tsv").read_text("utf-8"))
