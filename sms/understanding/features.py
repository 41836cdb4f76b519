"""What the statistical model sees of a text — the same function when it is trained and when it answers.

One `Reading` per text holds everything derived from it once: the text with emoji spelled out, jieba's
words, the lexicon words heard by sound, the rules' evidence per category. `features(reading)` turns it
into named features:
- character 1–3-grams (digits folded to their shape: a 6-digit ticket, an 11-digit phone, a small number),
  and English words whole;
- pinyin syllables and syllable pairs, folded for the usual confusions (so a homophone slip, or the whole
  text typed in pinyin, shares features with the characters it stands for);
- the rules' evidence for each category (lexicon terms, objects with their activity, heard words) and the
  intent cues (a question word, a ticket number, "my report", a refusal, advert markers, thanks…), so the
  model learns how far to trust each and decides where the rules are unsure.
The n-gram part is scaled to unit length (a long text does not shout); the cue part is not.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from sms.understanding import intent as intents
from sms.understanding import optout
from sms.understanding.category import Lexicon, heard_words, score, segment, spotted_words
from sms.understanding.emoji import spell_out
from sms.understanding.phonetic import hear, is_pinyin_text

SOMEONE = re.compile(r"有人|有户|有家|那家|这家|谁家|人家在|someone|somebody|people (?:are|keep)")
NUISANCE = re.compile(r"烟|呛|臭|灰|尘|味|吵|熏|smoke|smell|dust|noise|fumes")
UNIT = re.compile(r"[\u3400-\u9fff]|[a-z]+|\d+|[?？]")


@dataclass
class Reading:
    text: str                                   # normalised, emoji spelled out
    tokens: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    cues: list[dict] = field(default_factory=list)

    @property
    def evidence(self) -> float:
        return max(self.scores.values(), default=0.0)


def read(text: str, lexicon: Lexicon) -> Reading:
    """Everything the rules and the model need from one normalised text, computed once."""
    text = spell_out(text)
    tokens = segment(text)
    tokens += spotted_words(text, lexicon, tokens)
    heard = heard_words(text, lexicon)
    scores, cues = score(tokens, lexicon, heard)
    return Reading(text, tokens, heard, scores, cues)


def _units(text: str) -> list[str]:
    units = []
    for match in UNIT.finditer(text):
        unit = match.group()
        if unit.isdigit():
            unit = "#t" if 5 <= len(unit) <= 8 else "#p" if len(unit) == 11 else "#"
        elif unit == "？":
            unit = "?"
        units.append(unit)
    return units


def features(reading: Reading) -> dict[str, float]:
    text = reading.text
    grams: set[str] = set()
    units = _units(text)
    for n in (1, 2, 3):
        for i in range(len(units) - n + 1):
            grams.add("c:" + "".join(units[i:i + n]) if n > 1 or len(units[i]) == 1 else "w:" + units[i])
    sounds = [u.primary for u in hear(text)]
    for i, sound in enumerate(sounds):
        if sound:
            grams.add("p:" + sound)
            if i + 1 < len(sounds) and sounds[i + 1]:
                grams.add("p:" + sound + "_" + sounds[i + 1])
    scale = 1.0 / math.sqrt(len(grams)) if grams else 0.0
    out = {g: scale for g in grams}
    for category, value in reading.scores.items():
        out["lex:" + category] = min(value, 9.0) / 3.0
    for cue in reading.cues:
        if cue["kind"] == "term" or "with" in cue:
            out["lexterm:" + cue["category"]] = 1.0
        if cue.get("heard"):
            out["heard:" + cue["category"]] = 1.0
    out.update(cue_features(text))
    return out


def cue_features(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in ("question", "status", "my_report", "help", "chat", "thanks", "done"):
        if intents.has(text, name):
            out["cue:" + name] = 1.0
    if intents.find_ticket(text):
        out["cue:ticket"] = 1.0
    spam = intents.spam_score(text)
    if spam:
        out["cue:spam"] = min(spam, 6) / 3.0
    refusal = optout.refusal(text)
    if refusal:
        out["cue:refusal"] = 1.0
    if SOMEONE.search(text):
        out["cue:someone"] = 1.0  # 有人…, 那家…: somebody doing something — the shape of a report
    if NUISANCE.search(text):
        out["cue:nuisance"] = 1.0  # smoke, smell, dust, noise in any words
    if optout.about_texts(text):
        out["cue:texts"] = 1.0
    if is_pinyin_text(text):
        out["cue:pinyin"] = 1.0
    length = len(intents.bare(text))
    out["len:" + ("1" if length <= 4 else "2" if length <= 10 else "3" if length <= 25 else "4")] = 1.0
    return out
