"""Which problem a resident's text is about: weighted evidence over jieba's words, not the first keyword.

The lexicon (data/lexicon.tsv, plus the words an office adds in the database) gives every cue a category, a
kind and a weight. A *term* (二踢脚, 油烟) counts in full on its own; an *object* (塑料, 煤堆) counts in full
only when an *activity* of its group is in the same text (烧 + 塑料 → garbage burning; 没盖 + 煤堆 → dust),
otherwise a third; a *context* (工地, 饭店) is a weak hint. The best category wins with a confidence
s1 / (s1 + s2 + 1): one clear term is ~0.75, a lone hint ~0.45. Each decision lists the cues behind it, so
the ticket can say why it was filed where it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sms.understanding.phonetic import PhoneticIndex
from sms.understanding.lexicon_file import shipped_rows
from sms.understanding.segment import is_common_word, teach

OBJECT_ALONE = 0.3   # an object with no matching activity ("垃圾站臭" is not burning)
# A word the lexicon does not know but whose ending says what it is: 饲料厂, 木材加工厂 (a plant), 羊肉汤馆
SUFFIXES = (("厂", "industrial", 2.0), ("作坊", "industrial", 2.0), ("馆", "cooking_fumes", 1.5),
            ("饭庄", "cooking_fumes", 1.5), ("酒家", "cooking_fumes", 1.5))
HEARD = 0.6          # a word only heard (a slip, pinyin, initials) counts for less than one written
# Dust raised where something is built, dug or torn down (an activity of the "site" group in the text) is
# construction dust: 拆楼…灰飘得整个小区都是, 工地上的沙土没有盖.
DUST, SITE_DUST, SITE = "dust", "construction_dust", "site"
DEFAULT_THRESHOLD = 0.5
OTHER = "other"


@dataclass(frozen=True)
class Cue:
    word: str
    category: str
    kind: str          # term | object | context
    group: str         # activity group for objects ("burn", "uncovered", ...), "" otherwise
    weight: float


@dataclass
class Lexicon:
    """Cues by word, activity words by group. Built from the shipped file plus the office's own rows."""
    cues: dict[str, list[Cue]] = field(default_factory=dict)
    activities: dict[str, set[str]] = field(default_factory=dict)  # word -> groups
    categories: set[str] = field(default_factory=set)

    def add(self, category: str, kind: str, weight: float, word: str) -> None:
        word = word.strip().casefold()
        if not word:
            return
        if kind.startswith("activity:"):
            self.activities.setdefault(word, set()).add(kind.split(":", 1)[1])
            return
        base, _, group = kind.partition(":")
        self.cues.setdefault(word, []).append(Cue(word, category, base, group, float(weight)))
        self.categories.add(category)

    def words(self) -> set[str]:
        return set(self.cues) | set(self.activities)

    def phonetic(self) -> PhoneticIndex:
        """The lexicon's words by sound (built once per lexicon, a few milliseconds)."""
        index = self.__dict__.get("_phonetic")
        if index is None:
            terms: dict[str, set[str]] = {}
            for word, cues in self.cues.items():
                for cue in cues:
                    if cue.kind == "term" and cue.category != OTHER:
                        terms.setdefault(cue.category, set()).add(word)
            index = self.__dict__["_phonetic"] = PhoneticIndex(self.words(), terms, singles=self.activities)
        return index


def build_lexicon(extra: list[tuple[str, str, float, str]] = ()) -> Lexicon:
    """The shipped lexicon plus extra (category, kind, weight, word) rows — the office's words."""
    lexicon = Lexicon()
    for row in (*shipped_rows(), *extra):
        lexicon.add(*row)
    teach(lexicon.words())
    return lexicon


# ---------------------------------------------------------------- words in the text

def spotted_words(text: str, lexicon: Lexicon, tokens: list[str]) -> list[str]:
    """Lexicon words of two or more characters written in the text that the segmenter cut differently
    (燃放烟花 → 燃放, 烟花), longest first: a word inside a longer one found is not counted again."""
    known = lexicon.__dict__.get("_spellings")
    if known is None:
        multi = frozenset(w for w in lexicon.words() if len(w) >= 2)
        known = lexicon.__dict__["_spellings"] = (multi, max((len(w) for w in multi), default=1),
                                                  frozenset(w[0] for w in multi))
    words, longest, firsts = known
    spans: list[tuple[int, int, str]] = []
    for start in range(len(text)):
        if text[start] not in firsts:
            continue
        for end in range(min(len(text), start + longest), start + 1, -1):
            if text[start:end] in words:
                spans.append((start, end, text[start:end]))
                break
    seen = set(tokens)
    found = []
    for start, end, word in spans:
        if word not in seen and not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans):
            found.append(word)
            seen.add(word)
    return found


def heard_words(text: str, lexicon: Lexicon, units=None) -> list[str]:
    """Lexicon words the text says by sound but does not spell (烧眉 → 烧煤, `shao mei` → 烧煤); `units`: the
    text already heard (phonetic.hear)."""
    return list(dict.fromkeys(h.word for h in lexicon.phonetic().find(text, is_common_word, units)))


# ---------------------------------------------------------------- scoring

@dataclass
class CategoryGuess:
    category: str
    confidence: float
    scores: dict[str, float]
    cues: list[dict]
    needs_triage: bool


def score(tokens: list[str], lexicon: Lexicon, heard: list[str] = ()) -> tuple[dict[str, float], list[dict]]:
    """Each category's evidence and the cues behind it; `heard` words (by sound only) count HEARD of a
    written one, and never twice (a word both written and heard is written)."""
    seen = set(tokens)
    heard = [w for w in heard if w not in seen]
    groups = set()
    for word in (*seen, *heard):
        groups |= lexicon.activities.get(word, set())
    scores: dict[str, float] = {}
    cues: list[dict] = []
    for word, factor in [*((w, 1.0) for w in tokens), *((w, HEARD) for w in heard)]:
        if word not in seen and factor == 1.0:
            continue
        seen.discard(word)  # each word counts once, however often it is repeated
        for cue in lexicon.cues.get(word, ()) or _by_suffix(word):
            weight = cue.weight * factor
            if cue.kind == "object" and cue.group not in groups:
                weight *= OBJECT_ALONE
            category = SITE_DUST if cue.category == DUST and SITE in groups else cue.category
            scores[category] = scores.get(category, 0.0) + weight
            cues.append({"word": word, "category": category, "kind": cue.kind,
                         **({"with": cue.group} if cue.kind == "object" and cue.group in groups else {}),
                         **({"heard": True} if factor != 1.0 else {}), "weight": round(weight, 2)})
    return scores, cues


@lru_cache(maxsize=4096)
def _by_suffix(word: str) -> tuple[Cue, ...]:
    if len(word) < 2 or not "\u4e00" <= word[0] <= "\u9fff":
        return ()
    for suffix, category, weight in SUFFIXES:
        if len(word) > len(suffix) and word.endswith(suffix):
            return (Cue(word, category, "term", "", weight),)
    return ()


def classify(tokens: list[str], lexicon: Lexicon, threshold: float = DEFAULT_THRESHOLD,
             heard: list[str] = (), scored: tuple[dict, list] | None = None) -> CategoryGuess:
    """The rules' category; `scored`: (scores, cues) already worked out by `score` for these words."""
    scores, cues = scored or score(tokens, lexicon, heard)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] <= 0:
        return CategoryGuess(OTHER, 0.0, {}, [], True)
    best, s1 = ranked[0]
    s2 = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round(s1 / (s1 + s2 + 1.0), 3)
    deciding = [c for c in cues if c["category"] == best]
    # Hints alone (a place, an object nobody is burning) never decide: 待分类 rather than a guess.
    decisive = any(c["kind"] == "term" or "with" in c for c in deciding)
    if confidence < threshold or not decisive:
        return CategoryGuess(OTHER, confidence, {k: round(v, 2) for k, v in ranked}, cues, True)
    return CategoryGuess(best, confidence, {k: round(v, 2) for k, v in ranked}, deciding, False)
