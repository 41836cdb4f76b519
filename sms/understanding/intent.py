"""What a resident's text wants before what it is about: a report, a question about their ticket, opt-out
or opt-in, help, small talk, or an advertisement. Every intent but `report` is answered without a ticket.

Rules over the normalised text (NFKC, simplified, case-folded) for the clear cases: opt-in when that is
all the text says (opt-out has its own careful classifier, sms.understanding.optout); spam markers; a ticket
number with a question or on its own; a question about "my report" with no new problem in it; how-to
questions; greetings and thanks that carry no problem. The cue words live in data/intents.tsv. Where none of
these rules is sure, the statistical model (sms.understanding.model) has its say.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

# 5–8 digits on their own: tickets start at 100001; an 11-digit mobile or a 12号楼 is not one.
TICKET = re.compile(r"(?<![\d.])(\d{5,8})(?![\d.]|号楼|栋|室|单元|米|元|块|平|斤|户|人|次|kg|km)")
FILLER = re.compile(r"[\s,.!?;:~…、。\-—\"'“”()（）\[\]【】<>《》#*]+|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]+")


@lru_cache(maxsize=1)
def cues() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    text = resources.files("sms.understanding").joinpath("data/intents.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, words = line.split("\t", 1)
            table.setdefault(name, []).extend(w.replace("_", " ") for w in words.split())
    return table


@lru_cache(maxsize=None)
def _pattern(name: str) -> re.Pattern:
    """Chinese cues match anywhere; Latin ones only as whole words ("ok" is not in "smoke")."""
    parts = []
    for word in sorted(cues()[name], key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if re.search(r"[a-z]", word) else escaped)
    return re.compile("|".join(parts))


def _has(text: str, name: str) -> str | None:
    match = _pattern(name).search(text)
    return match.group() if match else None


def bare(text: str) -> str:
    """The text without punctuation, emoji and spaces."""
    return FILLER.sub("", text)


def find_ticket(text: str) -> str | None:
    match = TICKET.search(text)
    return match.group(1) if match else None


def core(text: str) -> str:
    """The text bare of punctuation and of politeness (请, 帮我, 谢谢, please…): what it asks for."""
    stripped = bare(text)
    for word in cues()["polite"]:
        stripped = stripped.replace(word.replace(" ", ""), "")
    return stripped


def has(text: str, name: str) -> bool:
    return _has(text, name) is not None


def is_opt_in(text: str) -> bool:
    return core(text) in cues()["start_exact"]


# an advert's opt-out footer in any of its spellings: 回T退订, 回复TD退订, 退订回N, 拒收请回复R
FOOTER = re.compile(r"(?:回复?|reply)\s*[a-z]{1,2}\s*退订|退订\s*请?回复?\s*[a-z]{1,2}(?![a-z])|"
                    r"拒收\s*请?回复?\s*[a-z]")
LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\."
                  r"(?:com|cn|net|cc|top|vip|info|xyz|me|io|shop|site|club|ltd|co)(?:/|\b)")
MASKED_PHONE = re.compile(r"\d{3}\*{3,4}\d{2,4}|\d\*{3}\d{3,}")
DEAL = re.compile(r"满\d+减\d+|\d+折|\d+元起|立减\d+|首充|包邮|日赚|日赢")


def spam_score(text: str) -> int:
    score = 3 if _has(text, "spam_strong") or FOOTER.search(text) else 0
    score += len(set(_pattern("spam").findall(text)))
    score += bool(MASKED_PHONE.search(text)) + bool(DEAL.search(text))
    if LINK.search(text):
        score += 2
    if re.match(r"^\s*[【\[][^】\]]{1,12}[】\]]", text):
        score += 1
    return score


def query_ticket(text: str, evidence: float) -> tuple[bool, str | None]:
    """(is a question about a ticket, the ticket number if one is named)."""
    ticket = find_ticket(text)
    question = _has(text, "question") is not None
    status = _has(text, "status") is not None
    past = _has(text, "my_report") is not None
    if ticket:
        rest = bare(text.replace(ticket, ""))
        for word in cues()["ticket_words"]:
            rest = rest.replace(word.replace(" ", ""), "")
        if status or len(rest) <= 4 or past:
            return True, ticket
        # A bare question word beside a number is a query only when no clear problem is described:
        # "楼下有人烧垃圾吗11111" is a report with a stray number, "100001怎么样了吗" a query.
        return (True, ticket) if question and evidence < 3.0 else (False, None)
    if (status or question) and past and evidence < 3.0:
        return True, None
    if status and past:
        return True, None
    return False, None


HOW_TO_REPORT = re.compile(r"(?:怎么|怎样|如何|咋)(?:才能|去|样)?(?:举报|投诉|反映|查询|查看|查)|how (?:do|can|should) "
                           r"(?:i|we) (?:report|complain|check)|(?:举报|投诉|反映)[^。!?]{0,8}(?:要写|需要|格式|留名字|"
                           r"会不会|要不要)")


def is_help(text: str) -> bool:
    return _has(text, "help") is not None


def asks_how_to_report(text: str) -> bool:
    """怎么举报烧煤的？ How do I report someone burning rubbish? — a how-to question even though it names a
    problem (it reports none: no place, nobody doing it)."""
    return HOW_TO_REPORT.search(text) is not None


def is_chat(text: str, evidence: float) -> bool:
    if _has(text, "done") and _has(text, "thanks"):
        return True
    return evidence < 1.5 and len(bare(text)) <= 16 and _has(text, "chat") is not None


def lacks_content(text: str) -> bool:
    """Nothing to file: no Chinese to speak of and no real word (a stray "1", "ok?", "...")."""
    core = bare(text)
    cjk = len(re.findall(r"[\u3400-\u9fff]", core))
    latin = re.findall(r"[a-z]{3,}", core)
    return cjk < 2 and not latin
