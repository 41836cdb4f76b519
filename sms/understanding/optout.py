"""A request to stop texting, told apart from everything that merely mentions texts.

Under China's rules on commercial and notification texts a clear refusal must be honoured, in whatever
words it comes: 退订, 别再给我发了, 以后不要发短信给我, 我搬走了这个号不用了, 取消提醒, stop sending to this
number, don't text me again, I've moved. And nothing else may opt anyone out: an advert's 回T退订 footer, a
question about how to unsubscribe (怎么退订？), a complaint about texts that refuses nothing (怎么老发短信),
a report that happens to say 别 (别再烧了).

`refusal(text)` finds the refusal itself: a stop word standing alone, or a "don't / stop / cancel" aimed
at sending, texts, reminders or this number, or a "this number is not used any more". `is_opt_out(text)`
is the decision: a refusal that is not a how-to question and not an advert. The words are in
data/intents.tsv (stop_exact, refuse, texts, gone); the patterns below only combine them.
"""
from __future__ import annotations

import re
from functools import lru_cache

from sms.understanding import intent as intents
from sms.understanding.phonetic import is_pinyin_text


@lru_cache(maxsize=None)
def _words(name: str) -> str:
    parts = []
    for word in sorted(intents.cues()[name], key=len, reverse=True):
        escaped = re.escape(word).replace(r"\ ", r"\s*")
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if re.search(r"[a-z]", word) else escaped)
    return "(?:" + "|".join(parts) + ")"


SEND = r"发(?!现|生|出|展|烟|黑|臭|财|热|动|火|霉|酵|布)"  # 发 as sending, not 发现/发烟/发臭
ASK_HOW = re.compile(r"(?:怎么|如何|怎样|咋|怎么样)(?:才能|可以|能)?(?:重新)?"
                     r"(?:退订|取消|关闭|停止|不再收|不收|拒收|屏蔽|订阅|开通|恢复)|(?:退订|取消|订阅|开通)[^。.!！]{0,6}(?:要|该|需要|得)?(?:回复|回|发)什么|"
                     r"how (?:do|can|could|would) (?:i|we|you)|how to|is there a way|"
                     # what unsubscribing would do: 退订了以后还能收到提醒吗？ if i unsubscribe, will…
                     r"(?:退订|取消|unsubscrib\w*|cancel)[^。.!！]{0,12}"
                     r"(?:以后|之后|还能|还会|会不会|是否|影响|if |will |still )[^。.!！]*[吗么呢?]|"
                     r"(?:如果|要是|\bif\b)[^。.!！]{0,8}(?:退订|取消|unsubscrib)")


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, ...]:
    refuse, gone = _words("refuse").replace("别", "别(?!的|人|处|家|墅)"), _words("gone")
    texts = "(?:" + _words("texts") + "|" + SEND + ")"
    # at most a few words between "don't" and what it refuses: 别再给我发了, 不要再往这个号发短信
    near = r"[^。.!！?？;；]{0,10}?"
    return (
        re.compile(refuse + near + texts),
        re.compile(texts + near + r"(?:别|不要|不用|勿|停止|停掉|停了|取消|关掉|关了|退掉)"),
        re.compile(gone),
        # a polite request is still a refusal: 可以帮我退订吗, 麻烦取消提醒
        re.compile(r"(?:可以|能|能不能|麻烦|请|帮我)\s*(?:帮我|给我)?\s*(?:退订|取消订阅|取消短信|取消提醒|取消通知)"),
    )


DELETE = re.compile(r"(?:号码|电话|手机号|名单|list)[^。.!！?？]{0,8}(?:删|去掉|移除|remove)|"
                    r"(?:删|去掉|移除)[^。.!！?？]{0,8}(?:号码|电话|手机号|名单)")
PINYIN_REFUSALS = ("biezaifa", "bieyaofa", "buyaozaifa", "buyaofa", "biefale", "tuiding", "quxiaodingyue",
                   "buyaozaigeiwofa", "biegeiwofa")


def refusal(text: str) -> str | None:
    """The words that refuse further texts, or None."""
    text = text.replace("’", "'")
    core = intents.core(text)
    if core in intents.cues()["stop_exact"]:
        return core
    for pattern in (*_patterns(), DELETE):
        match = pattern.search(text)
        if match:
            return match.group()
    if is_pinyin_text(text):  # bie zai fa le
        letters = re.sub(r"[^a-z]", "", text)
        return next((word for word in PINYIN_REFUSALS if word in letters), None)
    return None


def about_texts(text: str) -> bool:
    return re.search(_words("texts"), text) is not None


def asks_how(text: str) -> bool:
    """怎么退订？ how do I unsubscribe? — a question about opting out, answered with help."""
    return ASK_HOW.search(text) is not None


def wants_resume(text: str) -> bool:
    """重新开通短信提醒 / resume the alerts: opting back in, even when the text also says 退订."""
    return intents.has(text, "resume") and not asks_how(text)


def is_opt_out(text: str) -> bool:
    if refusal(text) is None or asks_how(text):
        return False
    return intents.spam_score(text) < 3
