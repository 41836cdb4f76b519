"""From a parsed text to what the gateway should do: the grammar first, understanding where it falls short.

The coded grammar (sms.parser) stays exact for patrollers. For everyone else:
- a staff keyword that does not parse as that staff command ("巡查的人呢？楼下又在烧煤了", "发现有人烧垃圾")
  is read as free text, so a resident's report is never refused;
- a command-less text, or a 举报 whose category is not given as a word or number of its own, is understood:
  intent first (query, opt-out/in, help, chat, spam, report), then category by evidence and place;
- 帮助/订阅/查询 followed by a whole sentence is understood too ("帮忙看看楼下有人烧垃圾" is a report), and
  退订 followed by a question about it ("退订要回复什么") is answered with help, never an opt-out;
- a resident's number right after the report word followed by 号楼/栋/单元/号… is an address, not a category
  code: "举报 8号楼门口烧垃圾", "JB 6栋有人放鞭炮" (staff keep the exact grammar).
Pure: no database. The result is a ParsedCommand whose `understanding` explains the decision.
"""
from __future__ import annotations

import re

from sms.parser import _split_command, parse, ParsedCommand, STAFF_COMMANDS, UUID
from sms.understanding import categorise, understand, Understanding
from sms.understanding.category import DEFAULT_THRESHOLD, Lexicon
from sms.understanding.place import Gazetteer, locate

GRID_CODE = re.compile(r"^[A-Z]{1,4}\d[0-9A-Z\-]*$")
ADDRESS = re.compile(r"^\s*(?:号楼|号院|号门|栋|幢|单元|号|楼|室|排|层|户|门|巷|弄|#|-\d)")
WORDY = re.compile(r"[\u3400-\u9fff]")


def _well_formed_staff(p: ParsedCommand) -> bool:
    if p.error:
        return False
    if p.command in ("patrol", "found"):
        return bool(p.grid and GRID_CODE.match(p.grid))
    return p.ticket is not None or p.command == "ack"


def _from_understanding(p: ParsedCommand, u: Understanding, text: str) -> ParsedCommand:
    command = {"report": "report"}.get(u.intent, u.intent)
    out = ParsedCommand(command, p.language, explicit=False, normalized=p.normalized, record_id=p.record_id,
                        understanding=u.as_dict())
    if command == "report":
        out.text = text
    elif command == "query":
        out.ticket = u.ticket
    return out


def _explicit_category(p: ParsedCommand, u: Understanding) -> bool:
    """举报 5 …, 举报 烧煤 …: the sender named the category as a word of its own. A keyword glued to a
    sentence (举报工地旁边那家饭店油烟很大) names it only when the evidence is not surer of another."""
    word = (p.category_word or "").casefold()
    if not word:
        return False
    if word.isdigit() or re.search(rf"(?:^|[\s,:;#、。]){re.escape(word)}(?:[\s,:;#、。]|$)", _body(p)):
        return True
    return u.needs_triage or u.intent != "report"


def _address_not_code(p: ParsedCommand) -> bool:
    """举报 8号楼…, JB 6栋…: the number the grammar took for a category is where the problem is."""
    word = p.category_word or ""
    return p.command == "report" and word.isdigit() and ADDRESS.match(p.text or "") is not None


def refine(p: ParsedCommand, *, is_staff: bool, lexicon: Lexicon, gazetteer: Gazetteer | None,
           threshold: float = DEFAULT_THRESHOLD, model=None) -> ParsedCommand:
    def understand_(text: str):
        return understand(text, lexicon, gazetteer, threshold=threshold, model=model)

    text = p.text or p.normalized
    if not is_staff and (_address_not_code(p) or (p.error == "unknown_category" and ADDRESS.match(
            _split_command(_body(p))[1].lstrip(" ,:;#、。0123456789")))):
        p = ParsedCommand("report", p.language, explicit=False, normalized=p.normalized, record_id=p.record_id,
                          text=_split_command(_body(p))[1].strip(" ,:;#、。"))
        text = p.text
    if p.command in STAFF_COMMANDS:
        if is_staff or _well_formed_staff(p):
            return p  # staff commands are exact; a resident sending a real one is told it is for staff
        return _from_understanding(p, understand_(_body(p)), _body(p))
    if p.command == "report" and not p.explicit:
        u = understand_(text)
        return _from_understanding(p, u, text) if (u.intent != "report" or not is_staff) else _staff_free(p, u)
    if p.command == "report":
        if p.error:
            return p
        u = understand_(_body(p))
        if u.intent in ("query", "help", "stop", "start", "spam"):  # 举报要写什么格式？ is a question
            return _from_understanding(p, u, text)
        if _explicit_category(p, u):
            place = locate(p.text or _body(p), gazetteer) if gazetteer is not None else {}
            p.understanding = {"intent": "report", "explicit": p.category_word, "confidence": 1.0,
                               "place": place}
            return p
        if u.intent != "report":  # "举报" followed by a whole sentence is still a report
            u = understand_report(_body(p), lexicon, gazetteer, threshold, model)
        p.category, p.category_word, p.text = None, None, _body(p)
        p.understanding = u.as_dict()
        return p
    if p.command == "stop" and len(WORDY.findall(_body(p))) > 2:
        u = understand_(_body(p))
        if u.intent in ("help", "start"):  # 退订要回复什么？ asks; 退订了以后怎么重新开通 too
            return _from_understanding(p, u, _body(p))
    if p.command in ("help", "start", "query") and len(WORDY.findall(_body(p))) > 4:
        u = understand_(_body(p))
        if p.command == "query" and not p.error:
            return p
        if u.intent in ("report", "query") and (u.intent == "query" or u.confidence > 0):
            return _from_understanding(p, u, _body(p))
    if p.command == "query" and p.error == "missing_ticket" and not re.search(r"\w", _split_command(_body(p))[1]):
        p.error = None  # "查询" alone: the sender's latest ticket ("Q 99" still says a ticket is missing)
    return p


def _staff_free(p: ParsedCommand, u: Understanding) -> ParsedCommand:
    p.understanding = u.as_dict()
    return p


def understand_report(text: str, lexicon: Lexicon, gazetteer: Gazetteer | None, threshold: float,
                      model=None) -> Understanding:
    u = categorise(text, lexicon, threshold, model)
    if gazetteer is not None:
        u.place = locate(text, gazetteer)
    return u


def _body(p: ParsedCommand) -> str:
    return UUID.sub(" ", p.normalized).strip()


def interpret(raw: str, *, is_staff: bool, lexicon: Lexicon, gazetteer: Gazetteer | None, catalogue=None,
              threshold: float = DEFAULT_THRESHOLD, model=None) -> ParsedCommand:
    """`model`: None for the shipped model, the office's retrained one (store.model), or RULES_ONLY."""
    return refine(parse(raw, catalogue), is_staff=is_staff, lexicon=lexicon, gazetteer=gazetteer,
                  threshold=threshold, model=model)
