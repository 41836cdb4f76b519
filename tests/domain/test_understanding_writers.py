"""Understanding holds for a writer nobody here has read: the shapes a text has whatever its words — a question
about one's own report (a reference to it, a question about its handling, a complaint of waiting), a text with
nothing a report is made of, an advert speaking like a seller, a refusal in everyday words and a question that
only mentions refusing, dust raised at a building site — and staff texts that stay exact. The phrasings below
are written for this test, not taken from the training texts."""
from __future__ import annotations

import pytest

from tests.domain.test_understanding import category_of, read


@pytest.mark.parametrize("text", [
    "我前几天反映的烧垃圾那个事，有下文了吗", "上礼拜报的放炮的，咋样了", "三天了还没人来", "你们到底派人了没",
    "那件事催一下，都一个星期了", "any news on what I reported?", "wo fanying de shi chuli le ma",
    "我举报的那家烧烤店油烟，到现在也没人管", "有人处理了吗", "烧轮胎那个，有回复吗",
])
def test_questions_about_ones_report_in_everyday_words(text):
    parsed = read(text)
    assert parsed.command == "query" and parsed.ticket is None, (text, parsed.command)


@pytest.mark.parametrize("text,category", [
    ("楼下天天有人烧东西，也没人管", "garbage_burning"), ("工地扬尘好几天了没人管", "construction_dust"),
    ("上次举报过，今天又有人在烧煤", "coal"), ("不知道哪里在烧塑料，满屋子味道", "garbage_burning"),
])
def test_a_new_problem_is_a_report_even_when_it_complains_nobody_came(text, category):
    assert category_of(text) == category


@pytest.mark.parametrize("text,intent", [
    ("今天下雨了", "chat"), ("你们短信怎么天天发", "chat"), ("今天空气真差", "chat"), ("老公我到了", "chat"),
    ("能匿名举报吗", "help"), ("熏腊肉的集中点在哪里？", "help"), ("这个号码是干嘛的", "help"),
])
def test_a_text_with_nothing_a_report_is_made_of_is_not_filed(text, intent):
    assert read(text).command == intent, text


@pytest.mark.parametrize("text", [
    "本店新到一批空气净化器，特价399元，订购电话13912345678", "我们是专业油烟管道清洗公司，欢迎来电咨询，上门服务",
    "Congratulations! You have won a prize, click here to claim", "楼盘火爆开盘，首付5万起，咨询热线0371-66668888",
])
def test_adverts_without_a_footer_are_adverts(text):
    assert read(text).command == "spam", text


@pytest.mark.parametrize("text", [
    "莫发了", "不订了", "这个号以后不接收你们的信息", "qu xiao", "unsubscribe me", "号码换人了", "拒绝接收",
    "我没订过这个，取消掉", "别发了，再发拉黑", "我不想再收到你们的短信了",
])
def test_refusals_in_everyday_words_opt_out(text):
    assert read(text).command == "stop", text


@pytest.mark.parametrize("text,intent", [
    ("收到短信不用回复吗", "help"), ("如果不想收短信了要回复什么", "help"), ("怎么不要短信啊？", "help"),
    ("可以只收我自己工单的消息吗", "help"), ("之前不小心退订了，想重新接收", "start"),
])
def test_a_question_that_mentions_refusing_opts_nobody_out(text, intent):
    assert read(text).command == intent, text


@pytest.mark.parametrize("text", ["楼下在拆房子，灰尘满天飞", "工地上的沙土没有盖，风一吹全是灰",
                                  "隔壁在挖地基，土堆着也不盖"])
def test_dust_raised_at_a_building_site_is_construction_dust(text):
    assert category_of(text) == "construction_dust"


def test_staff_free_text_gets_their_usage_and_never_the_models_guess():
    for text in ("今天下雨了", "谢谢", "好的，马上去"):
        parsed = read(text, staff=True)
        assert parsed.command == "report" and not parsed.explicit, text  # the gateway answers with the usage
    assert read("退订", staff=True).command == "stop"
    assert read("我前天反映的烧煤的事怎么样了", staff=True).command == "query"
