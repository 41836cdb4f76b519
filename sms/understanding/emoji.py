"""Emoji standing for the problem (🔥🌾, 🧨🧨, 🏭💨) read as the words they stand for (data/emoji.tsv), so the
lexicon and the model see 烧 秸秆 rather than nothing. Variation selectors and skin tones are dropped first."""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001F3FB-\U0001F3FF]")


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    words: dict[str, str] = {}
    text = resources.files("sms.understanding").joinpath("data/emoji.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            symbol, meaning = line.split("\t", 1)
            words[symbol.strip()] = meaning.split()[0]
    return words


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    return re.compile("|".join(re.escape(s) for s in sorted(table(), key=len, reverse=True)))


def spell_out(text: str) -> str:
    """`楼下🔥🌾` → `楼下 烧  秸秆 `: each known emoji as its word between spaces."""
    text = MODIFIERS.sub("", text)
    if text.isascii():
        return text
    return _pattern().sub(lambda match: f" {table()[match.group()]} ", text)
