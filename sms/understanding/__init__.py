"""Understanding residents' free text: intent first, then category by weighted evidence, then place.

`understand(raw, lexicon, gazetteer)` is pure (no database, no Flask): the SMS gateway calls it with the
lexicon and gazetteer loaded from the database (`sms.understanding.store`), the benchmark with its own.
See docs/sms.md, "How residents' texts are understood".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sms.understanding import intent as intents
from sms.understanding.category import (DEFAULT_THRESHOLD, Lexicon, build_lexicon, classify, segment, teach)
from sms.understanding.place import Gazetteer, locate

INTENTS = ("report", "query", "stop", "start", "help", "chat", "spam")


@dataclass
class Understanding:
    intent: str
    category: str | None = None        # catalogue code; "other" when unsure
    confidence: float = 0.0
    needs_triage: bool = False         # filed as 其他 because no category was sure enough (待分类)
    cues: list[dict] = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    ticket: str | None = None          # for a query
    place: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {}, "")}


def prepare(lexicon: Lexicon, gazetteer: Gazetteer | None = None) -> None:
    """Teach jieba the lexicon's and the gazetteer's words (idempotent, cheap once done)."""
    teach(lexicon.words())
    if gazetteer is not None:
        teach(gazetteer.words())


def categorise(text: str, lexicon: Lexicon, threshold: float = DEFAULT_THRESHOLD) -> Understanding:
    guess = classify(segment(text), lexicon, threshold)
    return Understanding("report", guess.category, guess.confidence, guess.needs_triage, guess.cues, guess.scores)


def understand(text: str, lexicon: Lexicon, gazetteer: Gazetteer | None = None, *,
               threshold: float = DEFAULT_THRESHOLD) -> Understanding:
    """`text` is already normalised (sms.parser.normalize): NFKC, simplified, case-folded."""
    if intents.is_opt_out(text) and intents.spam_score(text) < 3:
        return Understanding("stop")
    if intents.is_opt_in(text):
        return Understanding("start")
    if intents.spam_score(text) >= 3:
        return Understanding("spam")
    report = categorise(text, lexicon, threshold)
    evidence = max(report.scores.values(), default=0.0)
    is_query, ticket = intents.query_ticket(text, evidence)
    if is_query:
        return Understanding("query", ticket=ticket)
    if evidence < 3.0 and intents.is_help(text):
        return Understanding("help")
    if intents.is_chat(text, evidence):
        return Understanding("chat")
    if evidence == 0 and intents.lacks_content(text):
        return Understanding("help")
    if gazetteer is not None:
        report.place = locate(text, gazetteer)
    return report


__all__ = ["INTENTS", "Understanding", "understand", "categorise", "prepare", "build_lexicon", "Lexicon",
           "Gazetteer"]
