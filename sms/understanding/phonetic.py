"""Hearing a text as well as reading it: the lexicon matched by sound, so speech-input and typing slips
(烧眉 for 烧煤, 放边炮 for 放鞭炮), whole texts in toneless pinyin (`louxia you ren shao mei`) and initials
(`fbp`) still find their words.

Every Chinese character has its toneless readings in data/pinyin.tsv, derived from pypinyin's dictionary by
`python -m sms.understanding.phonetic` (tests check it is current; loading the table costs a few
milliseconds and about 3 MB, where importing pypinyin itself costs a third of a second and 60 MB — too much
for every web process). Syllables are compared after folding the common input confusions: zh/z, ch/c,
sh/s, n/l, and -ng/-n (so `san mei`, `shan mei` and `sang mei` all sound like 散煤).

A word of the lexicon is heard in a text when its syllables line up with the text's and the written span
could be a slip for it: a two-character word keeps one of its characters, the changed characters are not
function words (有烟 is "there is smoke", not 油烟) and the span is not a common word of its own (眼花 is
not 烟花, 拉长 not 腊肠: the caller says which words are real, from jieba's dictionary).
Latin runs count as pinyin when they split wholly into pinyin syllables (`shaomei`, `shao mei`); single
syllables (烧, 放, 熏: the activities) are heard only in such pinyin text. Initials (`fbp`, `slj`) name a
word only when there are three or four, all consonants, and every lexicon term they could stand for is of
one category; of two letters only the few residents use for a problem (`gd yc` for 工地扬尘) — `fp` is 发票
as often as 放炮. Swapped characters (二脚踢 for 二踢脚) are matched for words of three or more.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_RUN = re.compile(r"[a-z]+(?:[ '\-]+[a-z]+)*")
VOWELS = set("aeiouv")
# two letters are anybody's (fp is 发票 as often as 放炮); these few are how residents abbreviate problems
TWO_LETTERS = {"gd": "工地", "yc": "扬尘", "sm": "烧煤", "yh": "烟花", "bp": "鞭炮", "lr": "腊肉", "yy": "油烟",
               "jg": "秸秆", "sk": "烧烤", "fq": "废气"}
FUNCTION_CHARS = set("有的了是在没不也就都和又还要会说一这那个我你他她它们吗呢吧啊")


def fold(syllable: str) -> str:
    """The sound a syllable is heard as, with the usual input confusions folded together."""
    s = syllable
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng"):
        s = s[:-1]
    return s


@lru_cache(maxsize=1)
def readings() -> dict[str, tuple[str, ...]]:
    """Character → its toneless readings, most common first (data/pinyin.tsv)."""
    table: dict[str, tuple[str, ...]] = {}
    text = resources.files("sms.understanding").joinpath("data/pinyin.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            char, _, sounds = line.partition("\t")
            table[char] = tuple(sounds.split())
    return table


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (those the table uses)."""
    return frozenset(s for sounds in readings().values() for s in sounds)


def split_pinyin(word: str) -> list[str] | None:
    """`shaomei` → [shao, mei]; None when the run is not wholly pinyin. Fewest syllables wins (xian, not xi an)."""
    known = syllables()
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            if best[start] is not None and word[start:end] in known:
                candidate = best[start] + [word[start:end]]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    return best[len(word)]


@dataclass(frozen=True)
class Unit:
    """One heard syllable of a text: the folded sounds it may be (its most common first as `primary`), the
    character (or '' for pinyin)."""
    sounds: frozenset[str]
    char: str
    start: int
    end: int
    primary: str = ""


def hear(text: str) -> list[Unit]:
    """The text as syllables: each Chinese character with its folded readings, each Latin run that is wholly
    pinyin split into syllables. Anything else (digits, English, punctuation) breaks the run with a gap."""
    table = readings()
    units: list[Unit] = []
    gap = Unit(frozenset(), "", -1, -1)
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in table:
            units.append(Unit(frozenset(fold(s) for s in table[char]), char, index, index + 1, fold(table[char][0])))
            index += 1
            continue
        match = LATIN_RUN.match(text, index) if "a" <= char <= "z" else None
        if match:
            for token in re.finditer(r"[a-z]+", match.group()):
                parts = split_pinyin(token.group())
                at = index + token.start()
                if parts is None:
                    units.append(gap)
                    continue
                for part in parts:
                    units.append(Unit(frozenset((fold(part),)), "", at, at + len(part), fold(part)))
                    at += len(part)
            index = match.end()
            continue
        if not char.isspace() and (not units or units[-1] is not gap):
            units.append(gap)
        index += 1
    return units


def is_pinyin_text(text: str) -> bool:
    """Mostly pinyin: no Chinese characters and at least two pinyin syllables in Latin runs."""
    if CJK.search(text):
        return False
    heard = [u for u in hear(text) if u.sounds]
    return len(heard) >= 2


@dataclass(frozen=True)
class Heard:
    word: str          # the lexicon word heard
    start: int
    end: int
    exact: bool        # False: only its sound matched (a slip or pinyin)


class PhoneticIndex:
    """The lexicon's words by their first folded syllable, for matching by sound."""

    def __init__(self, words, terms_by_category: dict[str, set[str]] | None = None, singles=()):
        table = readings()
        self.singles = set(singles)
        self.words = set(words)
        self.by_first: dict[str, list[tuple[str, tuple[frozenset[str], ...]]]] = {}
        for word in words:
            if not all(ch in table for ch in word):
                continue
            shape = tuple(frozenset(fold(s) for s in table[ch]) for ch in word)
            for sound in shape[0]:
                self.by_first.setdefault(sound, []).append((word, shape))
        by_initials: dict[str, set[tuple[str, str]]] = {}
        for category, terms in (terms_by_category or {}).items():
            for term in terms:
                if len(term) >= 3 and all(ch in table for ch in term):
                    by_initials.setdefault("".join(table[ch][0][0] for ch in term), set()).add((category, term))
        # initials stand for a word only when every term they could be is of one category
        self.initials = {key: min(t for _, t in pairs) for key, pairs in by_initials.items()
                         if len({c for c, _ in pairs}) == 1}
        self.initials.update({key: word for key, word in TWO_LETTERS.items() if word in self.words})
        # 二脚踢 for 二踢脚: the same characters in another order (three or more)
        self.anagrams = {"".join(sorted(w)): w for w in self.words if len(w) >= 3 and len(set(w)) == len(w)}

    def find(self, text: str, is_word=lambda chars: False) -> list[Heard]:
        """Words heard but not written; `is_word(chars)` says a written span is a word in its own right
        (眼花, 拉长: not slips for 烟花, 腊肠)."""
        units = hear(text)
        pinyin_only = not CJK.search(text)
        found: list[Heard] = []
        for i, unit in enumerate(units):
            for sound in unit.sounds:
                for word, shape in self.by_first.get(sound, ()):
                    n = len(shape)
                    if i + n > len(units) or (n == 1 and (unit.char or not pinyin_only or word not in self.singles)):
                        continue
                    span = units[i:i + n]
                    if not all(u.sounds & s for u, s in zip(span[1:], shape[1:])):
                        continue
                    chars = "".join(u.char for u in span)
                    if chars == word:
                        continue  # written as it is: the segmenter already sees it
                    if chars and not self._slip(chars, word, is_word):
                        continue
                    found.append(Heard(word, span[0].start, span[-1].end, False))
        found.extend(self._initials(text))
        for size in (3, 4):
            for start in range(len(text) - size + 1):
                chars = text[start:start + size]
                word = self.anagrams.get("".join(sorted(chars)))
                if word and chars not in self.words and CJK.match(chars):
                    found.append(Heard(word, start, start + size, False))
        return found

    @staticmethod
    def _slip(chars: str, word: str, is_word) -> bool:
        """Could `chars` be `word` mistyped or misheard? Same length; a two-character word keeps one of its
        characters; the changed ones are not function words (有烟 is "there is smoke", not 油烟); and the
        written span is not a word of its own."""
        if len(chars) != len(word) or is_word(chars):
            return False
        changed = [a for a, b in zip(chars, word) if a != b]
        if len(word) == 2 and len(changed) == 2:
            return False
        return not any(ch in FUNCTION_CHARS for ch in changed)

    def _initials(self, text: str) -> list[Heard]:
        found = []
        for match in re.finditer(r"(?<![a-z])[a-z]{2,4}(?![a-z])", text):
            token = match.group()
            if VOWELS.isdisjoint(token) and token in self.initials:
                found.append(Heard(self.initials[token], match.start(), match.end(), False))
        return found


def build_table(path=None) -> int:
    """Write data/pinyin.tsv from pypinyin's dictionary (run when pypinyin is upgraded)."""
    # local: pypinyin is needed only to rebuild the table (a test extra), never to serve
    from pypinyin import Style, pinyin
    lines = ["# character<TAB>toneless readings, most common first; from pypinyin (python -m "
             "sms.understanding.phonetic)"]
    for code in range(0x4E00, 0xA000):
        char = chr(code)
        sounds = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
        readings_ = list(dict.fromkeys(s for s in (sounds[0] if sounds else []) if s.isalpha() and s.isascii()))
        if readings_:
            lines.append(f"{char}\t{' '.join(readings_)}")
    target = path or resources.files("sms.understanding").joinpath("data/pinyin.tsv")
    with open(target, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return len(lines) - 1


if __name__ == "__main__":
    print(f"wrote {build_table()} characters")
