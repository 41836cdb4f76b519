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

from sms.understanding.phonetic import is_pinyin_text

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
FOOTER = re.compile(r"(?:回复?|reply)\s*[a-z]{1,2}\s*退订|退订\s*请?回复?\s*(?:[a-z]{1,2}(?![a-z])|\d{1,4}(?!\d))|"
                    r"拒收\s*请?回复?\s*[a-z]")
LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\."
                  r"(?:com|cn|net|cc|top|vip|info|xyz|me|io|shop|site|club|ltd|co)(?:/|\b)")
MASKED_PHONE = re.compile(r"\d{3}\*{3,4}\d{2,4}|\d\*{3}\d{3,}")
DEAL = re.compile(r"满\d+减\d+|\d+折|\d+元起|立减\d+|首充|包邮|日赚|日赢")
# An advert without a footer still speaks like a seller: its own phone number, a price, "we are … company",
# "delivered to your door", "welcome to enquire". Each kind counts once; residents' reports rarely carry any.
PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|400-?\d{3}-?\d{4})(?!\d)")
PRICE = re.compile(r"\d+(?:\.\d+)?\s*(?:元|块钱|万起|元起)|[¥￥$]\s*\d|原价|现价|特价|低至|直降|秒杀|甩卖|清仓|首付")
SELLER = re.compile(r"本店|本公司|我司|我们是[^，。,.!?]{0,10}(?:公司|店|厂|机构|平台)|"
                    r"专业(?:做|提供|承接|生产|从事|代理|维修|清洗|安装)|欢迎(?:洽谈|咨询|选购|来电|光临|订购|惠顾|来店)|送货上门|免费送货|上门服务|起送|订购|热线|"
                    r"大酬宾|周年庆|开盘|新到|现货|量大|送货|找我们|凭(?:本|此)短信|代办|信用卡|low interest|"
                    r"congratulations|you (?:have )?won|lottery|bank details|\bclaim\b|\bprize\b|"
                    r"click (?:here|the link)|limited (?:time|offer)")


@lru_cache(maxsize=512)
def spam_score(text: str) -> int:
    score = 3 if _has(text, "spam_strong") or FOOTER.search(text) else 0
    score += len(set(_pattern("spam").findall(text)))
    score += bool(MASKED_PHONE.search(text)) + bool(DEAL.search(text))
    score += bool(PHONE.search(text)) + bool(PRICE.search(text)) + len(set(SELLER.findall(text)))
    if LINK.search(text):
        score += 2
    if re.match(r"^\s*[【\[][^】\]]{1,12}[】\]]", text):
        score += 1
    return score


# A question about one's own report, without a ticket number, has a shape whatever its words: a reference to
# the report made earlier (我前天反映的…, 上周举报的…, 我那个工单, 那个油烟的事, my complaint) and/or a question
# about its handling (处理了没, 有结果吗, 到哪一步了, 有人管吗, 来不来) or a complaint of waiting (还没人来,
# 一点回音都没有, 等了一上午).
WHEN = (r"(?:上上?(?:个|一)?(?:周|星期|礼拜|月|回|次)[一二三四五六日天末]?|之前|以前|前阵子|前段时间|前些天|"
        r"前些日子|前几天|前两天|大前天|前天|昨天|昨晚|今天|今早|早上|上午|中午|下午|晚上|那天|那次|星期[一二三四五六日天]|周[一二三四五六日末]|"
        r"礼拜[一二三四五六日天]|月初|\d+号|[一两三几\d]+(?:天|周|个星期|个月)(?:以)?前|刚才|刚刚)")
REPORTED = r"(?:举报|反映|反应|投诉|报|提|说|发|提交|登记|打电话说|打(?:了|过)?电话)"
PAST_CONTACT = r"(?:打了电话|打过电话|发了短信|发过短信|发了信息|报了警|举报了|反映了|投诉了|报上去)"
GAP = r"[^，。,.!?？！\s不没]{0,3}?"
MY_REPORT = re.compile(
    rf"我(?:们)?{WHEN}{{0,2}}{GAP}{REPORTED}(?:的|过|嘅|了的)|{WHEN}{{1,2}}{GAP}(?:{REPORTED}(?:的|过|了)|{PAST_CONTACT})"
    r"|我(?:的|那个|那几个|这几个|这两次|那次|这个|那条|发的那条)(?:举报|工单|投诉|反映|单子|单号|报的|短信|问题|事)"
    r"|(?:那个|上次那个|之前那个|上次的|之前的|那件|那条)[^，。,.!?？！\s]{0,8}?(?:事儿|事情|事|问题|工单|举报|投诉|短信)"
    r"|(?:那|这|此|该)事(?:儿|情)?(?![故业实物])"
    r"|就是(?:举报|反映|投诉|报)|(?:举报|反映|投诉|报)(?:的|过的)?(?:那个|那件|那条)|那个(?=[，,。.!?？！\s]|$)"
    r"|\bmy (?:complaint|report|ticket|case|message|text)\b|\bi (?:reported|complained|sent|texted|called)\b")
ASKS = re.compile(
    r"(?:处理|解决|查|办|整改|复查|核查|弄|搞定|落实|反馈)(?:了|好|完|得|到)?"
    r"(?:没|吗|么|了吗|了没|没有|了没有|怎么样|得怎样|得如何|了么|完了吗)"
    r"|(?:处理|解决|弄|办|查)得?(?:咋样|如何|怎样)|(?:查|弄|处理)(?:清楚|明白|好)了?(?:吗|没)|结果(?:出来|怎么样|如何|呢)"
    r"|管(?:了)?(?:没有|了吗|了没|没|吗)|不管了|不了了之|说好的|人呢|派(?:了)?人(?:了|没|吗|去)|(?:回复|答复|回)一下"
    r"|等(?:你们|着)?(?:的)?(?:回复|回音|答复|消息|处理)|怎么样了|咋样了|咋整|搞么子|后来(?:怎么样|呢|咋样)|然后呢"
    r"|怎么回事|怎样了|如何了|进展如何|情况如何"
    r"|有(?:没有)?(?:结果|回复|进展|说法|下文|下落|眉目|回音|消息|答复|回话|反馈|人管|人去|人来|人处理|人跟进|人理|人看|人问|人查)"
    r"|处理结果|处理情况|(?:有冇|冇)人|跟进|到哪(?:一步|了|儿)|什么状态|啥状态|进度|进展|是否已经|催(?:一下|办|促)?|快点处理"
    r"|(?:去|来)(?:看|查|现场)(?:过|了){0,2}(?:没|吗|没有)|(?:去|来)(?:过|了)(?:没|吗|没有)|来不来|来没来|管不管(?!用)|算不算"
    r"|是不是忘了|收到(?:了)?(?:吗|没)|(?:要|得|还要)?(?:等)?多久|(?:什么|啥)时候(?:能|会|才)?(?:来|处理|管|有结果|解决|弄好|办好)"
    r"|在处理|谁在(?:处理|管|负责|办)|哪个(?:网格员|部门|人|单位)(?:在|负责)|回个话|给个答复|给个说法|给个回复"
    r"|告诉我(?:结果|一声)|单号是多少|工单号是多少|号码是多少"
    r"|any (?:update|news|progress)|what happened|looking into|\bstatus\b|progress|follow(?:ed)? up"
    r"|has anyone|did anyone|when will|still waiting|heard (?:nothing|back)")
WAITING = re.compile(
    r"(?:还|也|都|怎么|咋)没(?:有)?(?:人)?(?:来|动|管|处理|回|去|解决|理|联系|答复|回复|动静|下文|反应|回应)"
    r"|没(?:有)?人(?:来|管|回|理|去|处理|联系)|(?:一点|没有|没)(?:回音|动静|下文|消息|回复|说法|反应|回应)|石沉大海"
    r"|到现在(?:还|也|都)?没|等了(?:一|好|半|几|两|\d)|(?:都|已经)(?:[一两三四五六七八九十几\d]+)(?:天|个星期|周|个月)了"
    r"|nobody came|no one came|no reply|no answer")
QUESTION_MARK = re.compile(r"[?？]|[吗么呢][\s。.!！~]*$")
REPORT_WORD = re.compile(r"举报|反映|投诉|report|complain")
# the same in pinyin: wo ju bao de shi qing zen me yang le, ni men chu li le mei you
PINYIN_STATUS = re.compile(r"chuli|jieguo|huifu|zenmeyang|jinzhan|youren(?:guan|qu|lai)|guanle")
PINYIN_MINE = re.compile(r"^(?:wo|jb|jubao|fanying|nimen)|(?:jubao|fanying|tousu|jb|bao)de")


def query_ticket(text: str, evidence: float, someone: bool = False) -> tuple[bool, str | None]:
    """(is a question about a ticket, the ticket number if one is named)."""
    ticket = find_ticket(text)
    if ticket:
        question = _has(text, "question") is not None
        rest = bare(text.replace(ticket, ""))
        for word in cues()["ticket_words"]:
            rest = rest.replace(word.replace(" ", ""), "")
        if _has(text, "status") or ASKS.search(text) or len(rest) <= 4 or MY_REPORT.search(text):
            return True, ticket
        # A bare question word beside a number is a query only when no clear problem is described:
        # "楼下有人烧垃圾吗11111" is a report with a stray number, "100001怎么样了吗" a query.
        return (True, ticket) if question and evidence < 3.0 else (False, None)
    return asks_after_report(text, evidence, someone), None


def asks_after_report(text: str, evidence: float, someone: bool = False) -> bool:
    """A question about one's own earlier report with no ticket number. With a reference to the report, any
    question about its handling or complaint of waiting is one (whatever problem it names again: 我举报的那个
    饭店油烟，到现在还没人来看). Without one, a question about handling is one only when the text reports
    nothing itself — no clear problem, nobody doing anything, no word of reporting in general (晚上十点以后举报
    有人处理吗 asks about the service) — and a complaint of waiting only when it names no problem at all."""
    if is_pinyin_text(text):
        letters = re.sub(r"[^a-z]", "", text)
        return bool(PINYIN_STATUS.search(letters) and PINYIN_MINE.search(letters))
    asks, waits = ASKS.search(text), WAITING.search(text)
    if MY_REPORT.search(text):  # naming no problem again, it can only be about the report
        return bool(asks or waits or QUESTION_MARK.search(text) or evidence == 0) or (
            _has(text, "question") is not None and evidence < 3.0)
    if someone or REPORT_WORD.search(text):
        return False
    return bool(asks) and evidence < 3.0 or bool(waits) and evidence == 0


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
    return evidence < 1.5 and len(bare(text)) <= 16 and _has(text, "chat") is not None


# The shape of a report: somebody doing something, a nuisance, somewhere. Every report in the training texts
# has one of these (or a word of the lexicon, or the word "report"); a text with none is about something else.
SOMEONE = re.compile(r"有人(?!管|处理|来|去|理|回|跟进|看|问|接|吗)|有户|有家|那家|这家|谁家|人家在|someone|somebody|"
                     r"people (?:are|keep)")
NUISANCE = re.compile(r"烟|呛|臭|灰|尘|味|吵|熏|smoke|smell|dust|noise|fumes")
NEARBY = re.compile(r"楼下|楼上|对面|隔壁|门口|后面|旁边|附近|小区|路口|路边|街|村|社区|院|厂|店|工地|苑|家园|花园|"
                    r"胡同|巷|广场|公园|河边|市场|学校|\d+号|\d+栋")


def has_report_shape(text: str, evidence: float, acts: bool) -> bool:
    """Anything a report is made of: a lexicon cue or an activity (烧, 放, 熏), somebody doing something, a
    nuisance, a place nearby, or the word "report" itself."""
    return bool(evidence > 0 or acts or SOMEONE.search(text) or NUISANCE.search(text) or NEARBY.search(text)
                or REPORT_WORD.search(text))


# remarks that file nothing: about the texts themselves, the air in general, or meant for somebody else
OFTEN = r"(?:老|总|总是|又|天天|每天|每次|一天|这么多|太多|好多|好几条|\d+条|几条|半夜|大半夜)"
TEXTS_REMARK = re.compile(rf"{OFTEN}[^，。,.!?？！]{{0,4}}(?:发|收|短信|信息)|"
                          r"(?:短信|信息)[^，。,.!?？！]{0,4}(?:太多|好多|这么多|乱码|老是|真的假的|是谁发)|发这么多|"
                          r"发什么短信|keep (?:texting|sending|messaging)|(?:too|so) many (?:texts|messages)")
AIR = re.compile(r"雾霾|空气|pm2\.?5|aqi|霾|天(?:很|好|多|真|不|也)?蓝|好天|年味|\bair\b|smog|haze")
PERSONAL = re.compile(r"^(?:妈|爸|老公|老婆|宝贝|亲爱的|老板|儿子|闺女|媳妇|姐|哥)|我到了|回来吃饭|吃饭不|加班|开会|"
                      r"快递|包裹|你是[^，。,.!?？！]{1,4}(?:老师|师傅|经理|吗)|我是[^，。,.!?？！]{1,6}(?:妈|爸)")
# a question about the service (can I…? where is…? what do I reply?) rather than about a problem
SERVICE_QUESTION = re.compile(r"(?:可以|能|能不能|可不可以|是否)(?!管|处理|来|派|去)[^，。,.!?？！]{0,10}(?:吗|么|\?)|"
                              r"回复?[^，。,.!?？！]{1,8}(?:吗|么)|是干(?:什么|嘛|啥)|哪个单位|是谁发")
HOW_DO_I = re.compile(r"怎么(?:预约|报名|申请|登记|办理|操作|撤回|修改)")
# "where" is a question only when asked (不知道哪里来的烟 states it does not know)
WHERE = re.compile(r"(?<!知道)(?:在哪|哪里|哪儿|哪些)")
ASKING = re.compile(r"[?？]|[吗呢][\s。.!！~]*$|请问|问一下|问下|想问|想知道")


def is_remark(text: str, evidence: float, someone: bool) -> bool:
    """Thanks for a problem solved, a remark about the texts or the air, a text meant for somebody else."""
    if _has(text, "done") and _has(text, "thanks"):
        return True
    if someone or evidence >= 3.0:
        return False
    if PERSONAL.search(text) or TEXTS_REMARK.search(text):
        return evidence < 1.5
    return evidence == 0 and AIR.search(text) is not None and not MY_REPORT.search(text)


def asks_about_service(text: str, evidence: float, someone: bool) -> bool:
    """能匿名举报吗, 可以发照片吗, 这个号码是干嘛的, 集中熏制腊肉的点在哪里 — asked by nobody who reports anything
    nearby (where and how are questions even when they name a problem)."""
    if someone or NEARBY.search(text):
        return False
    if HOW_DO_I.search(text) or (WHERE.search(text) and ASKING.search(text)):
        return True
    return evidence < 3.0 and SERVICE_QUESTION.search(text) is not None


def lacks_content(text: str) -> bool:
    """Nothing to file: no Chinese to speak of and no real word (a stray "1", "ok?", "...")."""
    core = bare(text)
    cjk = len(re.findall(r"[\u3400-\u9fff]", core))
    latin = re.findall(r"[a-z]{3,}", core)
    return cjk < 2 and not latin
