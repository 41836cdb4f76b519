"""Understanding residents' free text: intent first, then category, then place — rules for the clear cues,
a statistical model for the rest.

`understand(raw, lexicon, gazetteer)` is pure (no database, no Flask): the SMS gateway calls it with the
lexicon, gazetteer and model loaded from the database (`sms.understanding.store`), the benchmark with its
own. See docs/sms.md, "How residents' texts are understood".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sms.understanding import intent as intents
from sms.understanding import optout
from sms.understanding.category import (DEFAULT_THRESHOLD, OTHER, CategoryGuess, Lexicon, build_lexicon, classify,
                                        teach)
from sms.understanding.features import Reading, features, read
from sms.understanding.model import Model, shipped
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
    model: dict = field(default_factory=dict)   # the model's top guesses (category → probability)
    decided_by: str = ""               # rules | model | triage

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {}, "")}


def prepare(lexicon: Lexicon, gazetteer: Gazetteer | None = None) -> None:
    """Teach jieba the lexicon's and the gazetteer's words (idempotent, cheap once done)."""
    teach(lexicon.words())
    if gazetteer is not None:
        teach(gazetteer.words())


STRONG_RULE = 0.7        # a rule this sure, on a term of its own, is not second-guessed by the model
INTENT_CONFIDENCE = 0.6  # the model names a non-report intent only when at least this sure
STOP_CONFIDENCE = 0.85   # ... and an opt-out only when this sure and the text is about texts
RULES_ONLY = False       # understand(..., model=RULES_ONLY): the rules alone (the benchmark's baseline)


def _model(model):
    return shipped() if model is None else (model or None)


def categorise(text: str, lexicon: Lexicon, threshold: float = DEFAULT_THRESHOLD, model=None) -> Understanding:
    """`text` as a report: its category by the rules and the model."""
    reading = read(text, lexicon)
    chosen = _model(model)
    return _report(reading, lexicon, threshold, chosen.probabilities(features(reading)) if chosen else {})


def _report(reading: Reading, lexicon: Lexicon, threshold: float, probabilities: dict) -> Understanding:
    """The rules keep a strong cue; otherwise the model's calibrated probability decides, and below the
    threshold the report is 其他 marked 待分类. The decision lists the cues and the model's top guesses."""
    rule: CategoryGuess = classify(reading.tokens, lexicon, threshold, reading.heard)
    categories = {label: p for label, p in probabilities.items() if label in lexicon.categories or label == OTHER}
    whole = sum(categories.values())
    ranked = sorted(((p / whole, label) for label, p in categories.items()), reverse=True) if whole else []
    model_best, model_p = (ranked[0][1], round(ranked[0][0], 3)) if ranked else (OTHER, 0.0)
    decisive = not rule.needs_triage
    if decisive and (rule.confidence >= STRONG_RULE or not ranked or rule.category == model_best):
        category, by = rule.category, "rules"
        confidence = max(rule.confidence, model_p) if rule.category == model_best else rule.confidence
    elif ranked and model_p >= threshold:
        category, confidence, by = model_best, model_p, "model"
    elif decisive:
        category, confidence, by = rule.category, rule.confidence, "rules"
    else:
        category, confidence, by = OTHER, max(rule.confidence, model_p), ""
    cues = [c for c in rule.cues if c["category"] == category] if by else rule.cues
    # 其他 with no word of its own (no noise, no lorry…) is a text nobody understood: 待分类 for a person
    unsure = not by or (category == OTHER and not cues)
    u = Understanding("report", category, round(confidence, 3), unsure, rule.cues if unsure else cues, rule.scores)
    if ranked:
        u.model = {label: round(p, 3) for p, label in ranked[:3]}
    u.decided_by = "triage" if unsure else by
    return u


def understand(text: str, lexicon: Lexicon, gazetteer: Gazetteer | None = None, *,
               threshold: float = DEFAULT_THRESHOLD, model: Model | None | bool = None) -> Understanding:
    """`text` is already normalised (sms.parser.normalize): NFKC, simplified, case-folded. `model` None is the
    shipped model; pass the office's (store.model) or RULES_ONLY."""
    reading = read(text, lexicon)
    t = reading.text
    if intents.is_opt_in(t) or optout.wants_resume(t):
        return Understanding("start", decided_by="rules")
    if optout.is_opt_out(t):
        return Understanding("stop", decided_by="rules")
    if intents.spam_score(t) >= 3:
        return Understanding("spam", decided_by="rules")
    chosen = _model(model)
    probabilities = chosen.probabilities(features(reading)) if chosen else {}
    evidence = reading.evidence
    if intents.asks_how_to_report(t) and not intents.find_ticket(t):
        return Understanding("help", decided_by="rules")
    is_query, ticket = intents.query_ticket(t, evidence)
    if is_query:
        return Understanding("query", ticket=ticket, decided_by="rules")
    if evidence < 3.0 and (intents.is_help(t) or optout.asks_how(t)):
        return Understanding("help", decided_by="rules")
    if intents.is_chat(t, evidence):
        return Understanding("chat", decided_by="rules")
    if evidence == 0 and intents.lacks_content(t):
        return Understanding("help", decided_by="rules")
    other = _model_intent(t, reading, probabilities)
    if other is not None:
        return other
    report = _report(reading, lexicon, threshold, probabilities)
    if gazetteer is not None:
        report.place = locate(text, gazetteer)
    return report


def _model_intent(text: str, reading: Reading, probabilities: dict) -> Understanding | None:
    """Where no rule named the intent, the model may: a question without a ticket number in everyday words,
    small talk, an advert without the usual markers — and an opt-out only when very sure, about texts, and
    not a question about how to opt out."""
    intents_p = {label: p for label, p in probabilities.items() if label in INTENTS and label != "report"}
    if not intents_p:
        return None
    label, p = max(intents_p.items(), key=lambda kv: kv[1])
    reported = sum(v for k, v in probabilities.items() if k not in INTENTS)
    if p <= reported or p < INTENT_CONFIDENCE:
        return None
    if label == "stop":
        if p < STOP_CONFIDENCE or not optout.about_texts(text) or optout.asks_how(text):
            return None
    if label == "start":
        return None  # resuming is only ever the plain word (订阅, START): never guessed
    if label in ("chat", "help") and reading.evidence >= 3.0:
        return None  # a clear problem is a report whatever else the text says
    return Understanding(label, confidence=round(p, 3), ticket=intents.find_ticket(text) if label == "query" else None,
                         decided_by="model")


__all__ = ["INTENTS", "Understanding", "understand", "categorise", "prepare", "build_lexicon", "Lexicon",
           "Gazetteer", "Model", "RULES_ONLY"]
