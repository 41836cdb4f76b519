"""Understanding texts written the way residents write them, without a database: speech-input and typing
slips heard by sound, pinyin and initials, emoji, regional words, addresses after 举报 that are not category
codes, refusals in everyday words versus adverts and questions, queries without a ticket number — and the
model beside the rules: calibrated, loaded without scikit-learn, answering in the web process's budget."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sms.understanding.model import Model, shipped
from sms.understanding.phonetic import PhoneticIndex, fold, readings, split_pinyin
from tests.domain.test_understanding import LEXICON, category_of, read


@pytest.mark.parametrize("text,expected", [
    ("楼下有人烧眉，屋里全是味", "coal"),              # 烧眉 for 烧煤
    ("有人放边炮放了一晚上", "fireworks"),            # 放边炮 for 放鞭炮
    ("louxia you ren shao mei", "coal"),             # whole text in pinyin
    ("youren zai shaolaji", "garbage_burning"),      # pinyin without spaces
    ("小区里有人fbp", "fireworks"),                   # initials
    ("gd yc 很严重", "construction_dust"),           # the two-letter ones residents use
    ("村口二脚踢一直响", "fireworks"),                # swapped characters
    ("🧨🧨🧨 楼下", "fireworks"), ("🌾🔥 村东头", "straw_burning"), ("🏭💨 半夜", "industrial"),
    ("有户人家烧藕煤取暖", "coal"), ("地里有人烧苞谷杆", "straw_burning"),
    ("有人用柏树枝熏腊货", "cured_meat"), ("有人在田边烧禾稈", "straw_burning"),
    ("饭店的烟囱冒黑烟，全是油烟味", "cooking_fumes"),  # a restaurant chimney is not industry
    ("工地上有人烧垃圾", "garbage_burning"),            # burning at a site is not site dust
    ("柴油车停在楼下一直不熄火冒黑烟", "other"),
])
def test_texts_as_residents_write_them(text, expected):
    assert category_of(text) == expected


def test_written_words_are_not_mistaken_for_slips():
    index = PhoneticIndex(LEXICON.words(), {"fireworks": {"烟花"}, "cured_meat": {"腊肠"}})
    heard = {h.word for h in index.find("我眼花了，拉长了脸", lambda chars: chars in ("眼花", "拉长"))}
    assert not heard & {"烟花", "腊肠"}
    assert "油烟" not in {h.word for h in LEXICON.phonetic().find("楼下有烟")}  # 有 is a function word


def test_pinyin_table_and_folding():
    assert readings()["重"][:2] == ("zhong", "chong")
    assert fold("zhang") == fold("zan") == "zan" and fold("lan") == fold("nan")
    assert split_pinyin("shaomei") == ["shao", "mei"] and split_pinyin("xian") == ["xian"]
    assert split_pinyin("hello") is None


def test_the_pinyin_table_is_what_pypinyin_says():
    pytest.importorskip("pypinyin")
    from pypinyin import Style, pinyin
    table = readings()
    assert len(table) > 20000
    for char in "烧煤鞭炮秸秆腊肉油烟工地扬尘重长":
        assert table[char] == tuple(dict.fromkeys(pinyin(char, style=Style.NORMAL, heteronym=True)[0]))


@pytest.mark.parametrize("text", ["举报 8号楼门口有人烧垃圾", "JB 6栋楼下有人放鞭炮", "投诉 3单元有人在楼道烧纸壳",
                                  "举报 12号楼后面在熏腊肉"])
def test_a_building_number_after_the_report_word_is_an_address_not_a_code(text):
    parsed = read(text)
    assert parsed.command == "report" and parsed.category is None
    assert parsed.understanding["category"] not in ("cooking_fumes", "fireworks") or "鞭炮" in text
    assert any(m[0].isdigit() for m in parsed.understanding["place"]["mentions"])


def test_staff_keep_the_exact_grammar():
    assert read("举报 8 烧烤摊", staff=True).category == 8
    assert read("举报 5 映月路12号").category == 5


@pytest.mark.parametrize("text", [
    "别再给我发短信了", "以后不要再往这个号发了", "我搬走了这个号不用了", "取消提醒", "stop sending to this number",
    "don’t text me again", "I've moved, please stop", "把我的号码从名单里删掉", "bie zai fa le", "嫑再发了",
    "不想再收到你们的信息", "退订", "TD", "麻烦帮我退订一下短信",
])
def test_clear_refusals_opt_out(text):
    assert read(text).command == "stop", text


@pytest.mark.parametrize("text,intent", [
    ("【某商城】年终大促全场五折 回T退订", "spam"), ("尊敬的客户，您的积分即将清零，拒收请回复R", "spam"),
    ("怎么退订？", "help"), ("退订要回复什么", "help"), ("how do I unsubscribe?", "help"),
    ("你们怎么老给我发短信", "chat"), ("上次手滑点了退订，麻烦再给我开通一下短信", "start"),
    ("别再烧了，楼下全是烟", "report"), ("不要让他们再烧秸秆了", "report"),
])
def test_nothing_else_opts_anyone_out(text, intent):
    assert read(text).command == intent, text


@pytest.mark.parametrize("text,ticket", [
    ("我前天反映的烧煤的事怎么样了", None), ("上个礼拜我说的那个烧垃圾的 有人去管了没有", None),
    ("麻烦帮我看看100234处理到哪一步了，谢谢", "100234"), ("我早上报的那个烧秸秆的，你们到底派人了没有", None),
])
def test_questions_without_or_with_a_ticket_are_questions(text, ticket):
    parsed = read(text)
    assert parsed.command == "query" and parsed.ticket == ticket, text


def test_how_to_questions_are_help_even_after_the_report_word():
    assert read("举报要写什么格式").command == "help"
    assert read("怎么举报烧煤的？").command == "help"


def test_the_model_decides_where_the_rules_are_unsure_and_says_so():
    u = read("饭店的烟囱冒黑烟，全是油烟味").understanding
    assert u["decided_by"] in ("rules", "model") and u["model"]
    unsure = read("楼下那个东西又弄得到处都是").understanding
    assert unsure["category"] == "other" and unsure["needs_triage"] is True


def test_model_round_trips_and_its_probabilities_are_a_distribution():
    model = shipped()
    assert model is not None and set(model.labels) >= {"coal", "fireworks", "stop", "query", "chat", "other"}
    again = Model.from_bytes(model.to_bytes())
    features = {"lex:coal": 1.0, "c:烧": 0.3}
    a, b = model.probabilities(features), again.probabilities(features)
    assert abs(sum(a.values()) - 1) < 1e-6 and max(abs(a[k] - b[k]) for k in a) < 1e-3
    assert model.temperature > 0 and model.meta["texts"] > 1000


def test_the_web_path_loads_no_training_library_and_answers_fast():
    """A fresh process that understands texts the way the web process does imports neither scikit-learn,
    numpy, scipy nor pypinyin, and loads the model well within a second."""
    probe = """
import sys, time
from sms.understanding import build_lexicon, understand
from sms.understanding.model import shipped
from sms.parser import normalize
t = time.perf_counter(); shipped(); load = time.perf_counter() - t
lexicon = build_lexicon()
for text in ["楼下有人烧眉", "louxia shao laji", "别再给我发了", "100234处理了吗"]:
    understand(normalize(text), lexicon)
print(load, sorted(m for m in ("sklearn", "numpy", "scipy", "pypinyin") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert float(out[0]) < 1.0 and out[1].strip() == "[]"
