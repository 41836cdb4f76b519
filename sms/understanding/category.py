"""Which problem a resident's text is about: weighted evidence over jieba's words, not the first keyword.

The lexicon (data/lexicon.tsv, plus the words an office adds in the database) gives every cue a category, a
kind and a weight. A *term* (二踢脚, 油烟) counts in full on its own; an *object* (塑料, 煤堆) counts in full
only when an *activity* of its group is in the same text (烧 + 塑料 → garbage burning; 没盖 + 煤堆 → dust),
otherwise a third; a *context* (工地, 饭店) is a weak hint. The best category wins with a confidence
s1 / (s1 + s2 + 1): one clear term is ~0.75, a lone hint ~0.45. Each decision lists the cues behind it, so
the ticket can say why it was filed where it was.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from importlib import resources

from sms.understanding.phonetic import PhoneticIndex

OBJECT_ALONE = 0.3   # an object with no matching activity ("垃圾站臭" is not burning)
# A word the lexicon does not know but whose ending says what it is: 饲料厂, 木材加工厂 (a plant), 羊肉汤馆
SUFFIXES = (("厂", "industrial", 2.0), ("作坊", "industrial", 2.0), ("馆", "cooking_fumes", 1.5),
            ("饭庄", "cooking_fumes", 1.5), ("酒家", "cooking_fumes", 1.5))
HEARD = 0.6          # a word only heard (a slip, pinyin, initials) counts for less than one written
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


def build_lexicon(extra: list[tuple[str, str, float, str]] = ()) -> Lexicon:
    """The shipped lexicon plus extra (category, kind, weight, word) rows — the office's words."""
    lexicon = Lexicon()
    for row in (*shipped_rows(), *extra):
        lexicon.add(*row)
    teach(lexicon.words())
    return lexicon


# ---------------------------------------------------------------- segmentation

_lock = threading.Lock()
_tokenizer = None
_known: set[str] = set()


def _jieba():
    """One jieba tokenizer per process: the dictionary ships in jieba's wheel (no download); loading it
    takes about a second, once. Our own words are added to it so 二踢脚 or 煤堆 come out whole."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                # local: jieba loads on first use (about 0.5 s and its dictionary)
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def warm_up(*more, background: bool = True) -> None:
    """Load jieba, teach it the shipped lexicon, and run whatever else is passed (the pinyin table, the shipped
    model), once per process: on a daemon thread (a web process answers meanwhile), or here and now, after
    any such thread has finished (a worker, before it forks anything: a fork taken while the thread holds a
    lock or half-imports a module hands the child a lock nobody releases, or a module half there)."""
    def load():
        build_lexicon()
        for step in more:
            step()
    if not background:
        thread = getattr(warm_up, "thread", None)
        if thread is not None:
            thread.join()
        load()
    elif _tokenizer is None and not getattr(warm_up, "started", False):
        warm_up.started = True
        warm_up.thread = threading.Thread(target=load, name="understanding-warm-up", daemon=True)
        warm_up.thread.start()


def _forget_locks_after_fork() -> None:
    """A fork taken while the warm-up thread was loading (gunicorn --preload, a fork nobody waited for) leaves
    the child our lock and jieba's dictionary lock held by a thread that does not exist there: the child's
    first text would wait forever. The child starts with fresh locks and loads again if it must."""
    global _lock
    _lock = threading.Lock()
    warm_up.started = _tokenizer is not None
    warm_up.thread = None
    jieba = sys.modules.get("jieba")
    if jieba is not None and _tokenizer is None:
        jieba.DICT_WRITING.clear()


os.register_at_fork(after_in_child=_forget_locks_after_fork)


def teach(words) -> None:
    """Make sure jieba keeps these words (lexicon cues, place names) in one piece."""
    new = [w for w in words if w not in _known and len(w) > 1]
    if not new:
        return
    tokenizer = _jieba()
    with _lock:
        for word in new:
            tokenizer.add_word(word, freq=max(2000, 400 * len(word)))
            _known.add(word)


def segment(text: str) -> list[str]:
    return [w for w in _jieba().lcut(text, HMM=False) if w.strip()]


COMMON_WORD = 20  # jieba frequency above which a written span is a word of its own, not a slip


def is_common_word(chars: str) -> bool:
    return _jieba().FREQ.get(chars, 0) >= COMMON_WORD


def spotted_words(text: str, lexicon: Lexicon, tokens: list[str]) -> list[str]:
    """Lexicon words of two or more characters written in the text that the segmenter cut differently
    (燃放烟花 → 燃放, 烟花), longest first: a word inside a longer one found is not counted again."""
    known = lexicon.__dict__.get("_spellings")
    if known is None:
        known = lexicon.__dict__["_spellings"] = (frozenset(w for w in lexicon.words() if len(w) >= 2),
                                                  max((len(w) for w in lexicon.words()), default=1))
    words, longest = known
    spans: list[tuple[int, int, str]] = []
    for start in range(len(text)):
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


def heard_words(text: str, lexicon: Lexicon) -> list[str]:
    """Lexicon words the text says by sound but does not spell (烧眉 → 烧煤, `shao mei` → 烧煤)."""
    return list(dict.fromkeys(h.word for h in lexicon.phonetic().find(text, is_common_word)))


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
            scores[cue.category] = scores.get(cue.category, 0.0) + weight
            cues.append({"word": word, "category": cue.category, "kind": cue.kind,
                         **({"with": cue.group} if cue.kind == "object" and cue.group in groups else {}),
                         **({"heard": True} if factor != 1.0 else {}), "weight": round(weight, 2)})
    return scores, cues


def _by_suffix(word: str) -> tuple[Cue, ...]:
    for suffix, category, weight in SUFFIXES:
        if len(word) > len(suffix) and word.endswith(suffix) and "\u4e00" <= word[0] <= "\u9fff":
            return (Cue(word, category, "term", "", weight),)
    return ()


def classify(tokens: list[str], lexicon: Lexicon, threshold: float = DEFAULT_THRESHOLD,
             heard: list[str] = ()) -> CategoryGuess:
    scores, cues = score(tokens, lexicon, heard)
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
