"""Understanding residents' free text (issue 14), without a database: every example of the issue, intent
before category, evidence over first keyword, place by gazetteer, and no resident report ever refused."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms.parser import normalize
from sms.understanding import Gazetteer, build_lexicon, understand
from sms.understanding.resolve import interpret

LEXICON = build_lexicon()


def _gazetteer() -> Gazetteer:
    g = Gazetteer()
    g.add_area(1, "CJ", "澄江区", "district", 0)
    g.add_area(2, "CJ05", "映月街道", "subdistrict", 1)
    g.add_area(3, "CJ05-1", "映月社区", "community", 2)
    g.add_area(4, "CJ05-1-3", "映月社区第三网格", "grid", 3, ["映月路", "东风小区"])
    g.add_area(5, "CJ05-2", "白马社区", "community", 2)
    g.add_area(6, "CJ05-2-1", "白马社区第一网格", "grid", 3, ["李家村"])
    return g


GAZETTEER = _gazetteer()


def read(text: str, staff: bool = False):
    return interpret(text, is_staff=staff, lexicon=LEXICON, gazetteer=GAZETTEER)


def category_of(text: str) -> str:
    parsed = read(text)
    assert parsed.command == "report", (text, parsed)
    return parsed.understanding["category"]


EVERYDAY_WORDS = [
    ("有人放二踢脚", "fireworks"), ("摔炮", "fireworks"), ("礼炮", "fireworks"), ("二踢脚", "fireworks"),
    ("玉米杆子", "straw_burning"), ("稻草", "straw_burning"), ("麦茬", "straw_burning"),
    ("腊肠", "cured_meat"), ("火锅店排烟管", "cooking_fumes"),
    ("熔铝", "industrial"), ("砖厂", "industrial"), ("化工品味道", "industrial"),
    ("裸土没盖网", "dust"), ("沙土不苫盖", "dust"), ("路面积尘", "dust"),
    ("拆房子不洒水", "construction_dust"), ("装修砸墙的灰", "construction_dust"),
    ("焚烧塑料", "garbage_burning"), ("烧轮胎和旧沙发", "garbage_burning"),
]


@pytest.mark.parametrize("text,expected", EVERYDAY_WORDS)
def test_everyday_words_are_filed_under_their_category(text, expected):
    assert category_of(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("对面平房烟囱冒黑烟，肯定在烧散煤", "coal"),
    ("工地旁边那家饭店油烟很大", "cooking_fumes"),
    ("煤场的煤堆没盖，风一刮全是黑灰", "dust"),
    ("柴油车冒黑烟", "other"),
    ("垃圾站臭得不行", "other"),
])
def test_the_evidence_wins_not_the_first_keyword(text, expected):
    assert category_of(text) == expected


def test_the_ticket_records_which_cues_decided():
    u = read("对面平房烟囱冒黑烟，肯定在烧散煤").understanding
    assert u["category"] == "coal" and u["confidence"] >= 0.5 and not u.get("needs_triage")
    words = {c["word"] for c in u["cues"]}
    assert words & {"散煤", "烧散煤"} and all(c["category"] == "coal" for c in u["cues"])
    assert u["scores"]["industrial"] < u["scores"]["coal"]


def test_an_unclear_report_is_other_marked_for_triage():
    u = read("楼下那个东西又弄得到处都是").understanding
    assert u["category"] == "other" and u["needs_triage"] is True


def test_office_words_extend_the_lexicon():
    lexicon = build_lexicon([("fireworks", "term", 3.0, "呲花")])
    from sms.understanding import prepare
    prepare(lexicon)
    assert understand(normalize("小孩在玩呲花"), lexicon).category == "fireworks"


@pytest.mark.parametrize("text,ticket", [
    ("请问100157号工单处理了吗？", "100157"), ("我举报的工单100159现在怎么样了", "100159"), ("100163", "100163"),
    ("What is the status of ticket 100161?", "100161"), ("１００１６２", "100162"), ("查询 100001", "100001"),
    ("CX100001", "100001"), ("我上次反映的问题处理了没有", None),
])
def test_questions_are_answered_as_questions(text, ticket):
    parsed = read(text)
    assert parsed.command == "query" and parsed.ticket == ticket and not parsed.error


@pytest.mark.parametrize("text", ["退订", "取消订阅", "退订短信", "STOP", "stop", "TD", "请帮我退订"])
def test_opt_out(text):
    assert read(text).command == "stop"


@pytest.mark.parametrize("text", ["【京东】双十一大促，全场5折起 回T退订", "【平安】您有一笔贷款额度待领取，回T退订"])
def test_an_advert_with_回T退订_is_spam_not_an_opt_out(text):
    assert read(text).command == "spam"


@pytest.mark.parametrize("text,intent", [
    ("订阅", "start"), ("START", "start"), ("怎么举报？", "help"), ("help", "help"), ("？", "help"),
    ("谢谢", "chat"), ("你们是谁", "chat"), ("你好", "chat"), ("thanks!", "chat"), ("收到", "chat"),
])
def test_other_intents_get_no_ticket(text, intent):
    assert read(text).command == intent


@pytest.mark.parametrize("text,category", [
    ("巡查的人呢？楼下又在烧煤了", "coal"), ("发现有人在烧垃圾，赶紧来", "garbage_burning"),
    ("上报一下，楼下放烟花", "fireworks"), ("帮忙看看楼下有人放鞭炮", "fireworks"),
    ("A man is burning coal", "coal"),
])
def test_a_staff_keyword_at_the_start_never_blocks_a_residents_report(text, category):
    assert category_of(text) == category


def test_a_real_staff_command_from_a_resident_is_still_a_staff_command():
    assert read("巡查 HD03-1-1 正常").command == "patrol"  # the gateway answers "only for staff"
    assert read("巡查 HD03-1-1 正常", staff=True).command == "patrol"


def test_explicit_category_is_kept_and_glued_keyword_yields_to_evidence():
    assert read("举报 5 映月路12号").category == 5
    assert read("举报 烧煤 映月路12号").category == 5
    assert read("举报工地旁边那家饭店油烟很大").understanding["category"] == "cooking_fumes"


@pytest.mark.parametrize("text,code", [
    ("映月路12号门口有人放摔炮", "CJ05-1-3"), ("东风小区3栋有人烧垃圾", "CJ05-1-3"),
    ("李家村有人烧秸秆", "CJ05-2-1"), ("白马社区那边有人放炮", "CJ05-2"), ("有人放二踢脚", None),
])
def test_place_goes_to_the_deepest_area_the_gazetteer_knows(text, code):
    place = read(text).understanding["place"]
    assert place.get("code") == code


def test_place_mentions_are_extracted():
    place = read("映月路12号门口有人放摔炮").understanding["place"]
    assert "映月路12号" in place["mentions"]


def test_traditional_full_width_and_emoji():
    assert category_of("樓下有人放煙花爆竹🧨") == "fireworks"
    assert read("１００１６３号工單處理了嗎？").command == "query"


ANSWERED = {"report", "query", "stop", "start", "help", "empty", "chat", "spam", "patrol", "found", "handle",
            "escalate", "ack"}
REPORT_SENTENCES = st.sampled_from(["楼下有人烧垃圾", "有人放鞭炮", "对面在烧煤", "工地扬尘很大", "有人熏腊肉",
                                    "饭店油烟很大", "有人烧秸秆"])
STAFF_WORDS = st.sampled_from(["巡查", "发现", "办结", "上报", "收到", "XC", "F", "BJ", "SB", "SD", "P", "D", "E", "A"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
def test_every_text_gets_an_answerable_intent(text):
    assert read(text).command in ANSWERED


@settings(max_examples=200, deadline=None)
@given(STAFF_WORDS, st.sampled_from(["", " ", "的人呢？", "一下，", "了，"]), REPORT_SENTENCES,
       st.text(alphabet="，。！ 的了吗呢啊", max_size=5))
def test_no_resident_report_is_ever_refused(word, glue, sentence, tail):
    parsed = read(word + glue + sentence + tail)
    assert parsed.command == "report"
    assert parsed.understanding["category"] != "other"
