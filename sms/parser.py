"""Turn a raw text into a `ParsedCommand`. Pure functions: no database, no Flask.

Normalisation first (NFKC, traditional → simplified, case-folded), then the first word picks the command
(Chinese words may be glued to what follows: `举报烧煤映月路12号`; Latin codes must stand alone or be
followed by digits: `CX100001`). Words are split on any run of spaces, commas, colons, semicolons, `#`,
`、` or `。`. A UUID anywhere (usually `#<uuid>` at the end) is the device's record id.
See docs/sms.md for the grammar.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.domain.catalogue import DEFAULT_CATEGORIES

# command → (Chinese words, Latin codes). Chinese lists include the typos and synonyms people send.
COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "report": (("举报", "投诉", "举抱", "挙报", "反映"), ("jb", "r", "report")),
    "query": (("查询", "查寻", "查洵", "查找", "查"), ("cx", "q", "query")),
    "help": (("帮助", "帮忙", "说明", "指令"), ("help", "h", "?", "info")),
    "stop": (("退订", "退定", "取消订阅"), ("td", "stop", "unsubscribe", "cancel", "end", "quit",
                                             "stopall")),
    "start": (("订阅", "重新订阅", "恢复"), ("start", "unstop", "dy")),
    "patrol": (("巡查", "巡察", "巡检", "巡逻"), ("xc", "p", "patrol")),
    "found": (("发现", "发视"), ("f", "fx", "found")),
    "handle": (("办结", "已办结", "办完", "处理完毕"), ("bj", "d", "done")),
    "escalate": (("上报", "升级"), ("sb", "e", "escalate")),
    "ack": (("收到", "已收到", "收悉"), ("sd", "a", "ack")),
}
STAFF_COMMANDS = {"patrol", "found", "handle", "escalate", "ack"}
HANDLING_WORDS = {"即办": "immediate", "j": "immediate", "上报": "reported", "s": "reported",
                  "immediate": "immediate", "reported": "reported"}
ALL_CLEAR_WORDS = {"正常", "无", "无问题", "没问题", "良好", "ok", "normal", "clear", "0", "好"}
SEPARATORS = r"\s,:;#、。"
TOKEN = re.compile(rf"[^{SEPARATORS}]+")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TICKET = re.compile(r"^(?:no\.?|号|工单号?|单号)?(\d{4,10})号?$")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
TRAILING_PUNCT = ".!?！？~…-—\"'“”（）()[]【】《》<>"
CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
             "十": 10}


@dataclass
class ParsedCommand:
    command: str                    # report, query, help, stop, start, patrol, found, handle, escalate, ack
    language: str = "zh"
    explicit: bool = True           # False when a command-less text was taken as a report
    normalized: str = ""
    ticket: str | None = None
    grid: str | None = None
    category: int | None = None     # catalogue number
    category_word: str | None = None
    handling: str | None = None     # immediate | reported | committed
    days: int | None = None
    all_clear: bool | None = None
    problems: int | None = None
    text: str = ""                  # description, note or reason
    record_id: str | None = None
    error: str | None = None        # parse error code; the reply explains it
    understanding: dict | None = None  # how a resident's text was understood (sms.understanding)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "") and k != "normalized"}


@lru_cache(maxsize=1)
def _converter():
    # local: OpenCC builds its tables on first use
    from opencc import OpenCC
    return OpenCC("t2s")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").replace("\x00", "")
    text = _converter().convert(text)
    return " ".join(text.casefold().split())


def is_latin_only(raw: str) -> bool:
    """Latin letters and no Chinese: answer in English."""
    text = unicodedata.normalize("NFKC", raw or "")
    return CJK.search(text) is None and re.search(r"[A-Za-z]", text) is not None


@lru_cache(maxsize=1)
def _command_words() -> tuple[list[tuple[str, str]], dict[str, str]]:
    chinese = sorted(((w, c) for c, (zh, _) in COMMANDS.items() for w in zh), key=lambda p: -len(p[0]))
    latin = {w: c for c, (_, codes) in COMMANDS.items() for w in codes}
    return chinese, latin


def _tokens(text: str) -> list[re.Match]:
    return list(TOKEN.finditer(text))


def _clean(word: str) -> str:
    return word.strip(TRAILING_PUNCT)


def _split_command(text: str) -> tuple[str | None, str]:
    """The command and the rest of the text after it."""
    chinese, latin = _command_words()
    stripped = text.lstrip(SEPARATORS.replace("\\s", " ") + TRAILING_PUNCT.replace("?", ""))
    if stripped.startswith("?") or stripped.startswith("？"):
        return "help", stripped[1:]
    for word, command in chinese:
        if stripped.startswith(word):
            rest = stripped[len(word):]
            if command == "query" and word == "查" and rest[:1] not in ("", " ") and not rest[:1].isdigit():
                continue  # "查" alone is a query only when a ticket or nothing follows
            return command, rest
    tokens = _tokens(stripped)
    if not tokens:
        return None, stripped
    first = _clean(tokens[0].group())
    if first in latin:
        return latin[first], stripped[tokens[0].end():]
    glued = re.match(r"^([a-z]{1,2})(\d{4,10})$", first)  # CX100001, BJ100001
    if glued and glued.group(1) in latin:
        return latin[glued.group(1)], glued.group(2) + stripped[tokens[0].end():]
    return None, stripped


def _take_record_id(text: str) -> tuple[str, str | None]:
    match = UUID.search(text)
    if not match:
        return text, None
    return (text[:match.start()] + " " + text[match.end():]).strip(), match.group()


def _rest_after(text: str, tokens: list[re.Match], count: int) -> str:
    """Free text after the first `count` words, as typed (punctuation kept, outer separators trimmed)."""
    if len(tokens) <= count:
        return ""
    return text[tokens[count].start():].strip(SEPARATORS.replace("\\s", " ") + " ")


def _ticket(word: str | None) -> str | None:
    if not word:
        return None
    match = TICKET.match(_clean(word))
    return match.group(1) if match else None


def _number(word: str) -> int | None:
    word = _clean(word)
    if word.isdecimal():  # not isdigit(): "𐩀" is a digit that int() refuses
        return int(word)
    if word and all(ch in CN_DIGITS for ch in word):
        if word == "十":
            return 10
        if word.startswith("十"):
            return 10 + CN_DIGITS[word[1]] if len(word) == 2 else None
        if len(word) == 1:
            return CN_DIGITS[word]
        if len(word) in (2, 3) and word[1] == "十":
            return CN_DIGITS[word[0]] * 10 + (CN_DIGITS[word[2]] if len(word) == 3 else 0)
    return None


def match_category(word: str, catalogue) -> tuple[int | None, int]:
    """(catalogue number, characters consumed) for a number code, an English code or a keyword prefix."""
    word = _clean(word)
    if not word:
        return None, 0
    numbers = {number for number, *_ in catalogue}
    digits = re.match(r"^(\d{1,3})(?!\d)", word)
    if digits:
        value = int(digits.group(1))
        return (value if value in numbers else -1), len(digits.group(1))
    best: tuple[int | None, int] = (None, 0)
    for number, code, name_zh, _name_en, keywords, *_ in catalogue:
        for keyword in (code, *keywords, name_zh):
            keyword = keyword.casefold()
            if word.startswith(keyword) and len(keyword) > best[1]:
                best = (number, len(keyword))
    return best


def guess_category(text: str, catalogue) -> int | None:
    """A command-less resident text: the longest catalogue keyword found anywhere wins."""
    best: tuple[int | None, int] = (None, 0)
    for number, _code, _zh, _en, keywords, *_ in catalogue:
        for keyword in keywords:
            if keyword in text and len(keyword) > best[1]:
                best = (number, len(keyword))
    if best[0] is not None:
        return best[0]
    # English texts: the category's code counts double, words of its English name once.
    latin_words = set(re.findall(r"[a-z]+", text))
    for number, code, _zh, name_en, *_ in catalogue:
        score = 2 * (code in latin_words) + len(latin_words & set(re.findall(r"[a-z]{4,}", name_en.casefold())))
        if score > best[1]:
            best = (number, score)
    return best[0]


def _handling(word: str) -> tuple[str | None, int | None, bool]:
    """(class, days, recognised) for 即办 / 上报 / 承诺3天 / J / S / C3."""
    word = _clean(word)
    if word in HANDLING_WORDS:
        return HANDLING_WORDS[word], None, True
    match = re.match(r"^(?:承诺|c|committed)(\d{1,3}|[零一二两三四五六七八九十]{1,3})?(?:天|日|d|days?)?$", word)
    if match:
        days = _number(match.group(1)) if match.group(1) else None
        return "committed", days, True
    return None, None, False


def parse(raw: str, catalogue=None) -> ParsedCommand:
    catalogue = catalogue or DEFAULT_CATEGORIES
    language = "en" if is_latin_only(raw) else "zh"
    normalized = normalize(raw)
    text, record_id = _take_record_id(normalized)
    command, rest = _split_command(text)
    if command is None:
        if not text.strip(SEPARATORS.replace("\\s", " ") + TRAILING_PUNCT + " "):
            return ParsedCommand("empty", language, normalized=normalized)
        return ParsedCommand("report", language, explicit=False, normalized=normalized, text=text,
                             category=guess_category(text, catalogue), record_id=record_id)
    parsed = ParsedCommand(command, language, normalized=normalized, record_id=record_id)
    tokens = _tokens(rest)
    if command in ("patrol", "found") and tokens:
        glued = re.match(r"^([a-z]+[0-9a-z\-_.]*[0-9])([^0-9a-z\-_.].*)$", tokens[0].group())
        if glued:  # "巡查HD03-1-1正常": split the grid code from the Chinese after it
            rest = rest[:tokens[0].start()] + glued.group(1) + " " + glued.group(2) + rest[tokens[0].end():]
            tokens = _tokens(rest)
    handler = _PARSERS.get(command)
    if handler:
        handler(parsed, rest, tokens, catalogue)
    return parsed


def _parse_report(p: ParsedCommand, rest: str, tokens, catalogue) -> None:
    if not tokens:
        p.error = "missing_text"
        return
    number, used = match_category(tokens[0].group(), catalogue)
    if number == -1:
        p.error, p.category_word = "unknown_category", _clean(tokens[0].group())
        return
    if number is not None:
        p.category, p.category_word = number, tokens[0].group()[:used]
        start = tokens[0].start() + used
        p.text = rest[start:].strip(" ,:;#、。")
    else:
        p.category = guess_category(rest, catalogue)
        p.text = rest.strip(" ,:;#、。")


def _parse_ticket_command(p: ParsedCommand, rest: str, tokens, catalogue) -> None:
    if not tokens:
        p.error = "missing_ticket"
        return
    p.ticket = _ticket(tokens[0].group())
    if p.ticket is None:
        glued = re.match(r"^(\d{4,10})(.*)$", _clean(tokens[0].group()))
        if glued:  # "办结100001已处理"
            p.ticket = glued.group(1)
            p.text = (glued.group(2) + " " + _rest_after(rest, tokens, 1)).strip()
            return
        p.error = "missing_ticket"
        return
    p.text = _rest_after(rest, tokens, 1)


def _parse_patrol(p: ParsedCommand, rest: str, tokens, catalogue) -> None:
    if not tokens:
        p.error = "missing_grid"
        return
    p.grid = _grid(tokens[0].group())
    words = [_clean(t.group()) for t in tokens[1:]]
    p.all_clear, p.problems = True, 0
    for index, word in enumerate(words):
        if word in ALL_CLEAR_WORDS:
            break
        count = re.match(r"^(?:问题|发现|problems?)?(\d{1,3}|[一二两三四五六七八九十]{1,3})"
                         r"(?:个|处|起|条)?(?:问题|problems?)?$", word)
        if count and _number(count.group(1)) is not None:
            p.problems = _number(count.group(1))
            p.all_clear = p.problems == 0
            p.text = " ".join(words[index + 1:])
            break
        if word in ("问题", "有问题", "problem", "problems") and index + 1 < len(words) and _number(words[index + 1]):
            p.problems = _number(words[index + 1])
            p.all_clear = False
            break
    else:
        p.text = " ".join(words)
    if p.text == "" and len(words) > 1 and words[0] in ALL_CLEAR_WORDS:
        p.text = " ".join(words[1:])


def _grid(word: str) -> str:
    return re.sub(r"[_\-—–－.]+", "-", _clean(word)).upper()


def _parse_found(p: ParsedCommand, rest: str, tokens, catalogue) -> None:
    if not tokens:
        p.error = "missing_grid"
        return
    p.grid = _grid(tokens[0].group())
    if len(tokens) < 2:
        p.error = "missing_category"
        return
    number, used = match_category(tokens[1].group(), catalogue)
    if number in (None, -1):
        p.error, p.category_word = "unknown_category", _clean(tokens[1].group())
        return
    p.category, p.category_word = number, tokens[1].group()[:used]
    leftover = tokens[1].group()[used:]
    consumed = 2
    if leftover:  # "发现 HD03-1-1 烧煤即办 ..." or "5J"
        handling, days, ok = _handling(leftover)
        if ok:
            p.handling, p.days = handling, days
            leftover = ""
        else:
            glued = re.match(r"^(即办|上报|承诺(?:\d{1,3}|[一二两三四五六七八九十]{1,3})?(?:天|日)?)(.+)$", leftover)
            if glued:
                p.handling, p.days, _ = _handling(glued.group(1))
                leftover = glued.group(2)
    if not leftover and p.handling is None and len(tokens) > 2:
        handling, days, ok = _handling(tokens[2].group())
        if ok:
            p.handling, p.days = handling, days
            consumed = 3
    p.text = ((leftover + " ") if leftover else "") + _rest_after(rest, tokens, consumed)
    p.text = p.text.strip()
    if p.handling is None:
        p.handling = "reported"
    if p.handling == "committed" and not p.days:
        p.error = "missing_days"


_PARSERS = {
    "report": _parse_report,
    "query": _parse_ticket_command,
    "handle": _parse_ticket_command,
    "escalate": _parse_ticket_command,
    "ack": _parse_ticket_command,
    "patrol": _parse_patrol,
    "found": _parse_found,
}
