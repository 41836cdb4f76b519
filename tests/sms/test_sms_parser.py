"""The parser against realistic texts: simplified and traditional, full-width digits, extra spaces and
punctuation, mixed Latin and Chinese, typos in codes. Pure functions: no database."""
from __future__ import annotations

import pytest

from sms.parser import normalize, parse

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

# (text, expected fields). Only the listed fields are checked; `command` always is.
TABLE = [
    # --- resident reports: 举报 / JB / R
    ("举报 烧煤 映月路12号", dict(command="report", category=5, text="映月路12号", language="zh")),
    ("举报烧煤映月路12号", dict(command="report", category=5, text="映月路12号")),
    ("举报：烧煤，映月路12号", dict(command="report", category=5, text="映月路12号")),
    ("舉報 燒煤 映月路12號", dict(command="report", category=5, text="映月路12号")),
    ("舉報　５　映月路１２號有人燒煤", dict(command="report", category=5, text="映月路12号有人烧煤")),
    ("  举报   扬尘   工地没有覆盖  ", dict(command="report", category=1, text="工地没有覆盖")),
    ("举报 工地 建设路工地扬尘很大", dict(command="report", category=2)),
    ("举报 烧垃圾 小区门口有人烧垃圾", dict(command="report", category=3)),
    ("举报 秸秆 村东头田里烧秸秆", dict(command="report", category=4)),
    ("举报 烟花 楼下放烟花", dict(command="report", category=6)),
    ("举报 鞭炮 凌晨放鞭炮", dict(command="report", category=6)),
    ("举报 腊肉 三楼阳台熏腊肉", dict(command="report", category=7)),
    ("举报 油烟 楼下饭店油烟大", dict(command="report", category=8)),
    ("举报 煤炉 白马路5号煤炉冒烟", dict(command="report", category=5)),
    ("举报 散煤 有人卖散煤", dict(command="report", category=5)),
    ("举报 8 烧烤摊", dict(command="report", category=8, text="烧烤摊")),
    ("举报 10 不知道是什么在冒烟", dict(command="report", category=10)),
    ("举报 99 什么", dict(command="report", error="unknown_category")),
    ("举报", dict(command="report", error="missing_text")),
    ("举报。", dict(command="report", error="missing_text")),
    ("JB 5 12 Yingyue Rd", dict(command="report", category=5, language="en", text="12 yingyue rd")),
    ("jb 烧煤 映月路", dict(command="report", category=5, language="zh")),
    ("Jb,3,垃圾堆在烧", dict(command="report", category=3)),
    ("R coal 12 Main St", dict(command="report", category=5, language="en", text="12 main st")),
    ("r 1 construction dust on main st", dict(command="report", category=1)),
    ("REPORT 6 fireworks at night", dict(command="report", category=6)),
    ("投诉 楼下烧烤油烟太大", dict(command="report", category=8)),
    ("反映一下，映月路有人烧煤", dict(command="report", category=5)),
    ("举抱 烧煤 映月路", dict(command="report", category=5)),  # typo of 举报
    ("举报 映月路有人在烧东西", dict(command="report", category=None)),
    # --- command-less texts: reports with guessed categories
    ("楼下有人烧垃圾，烟很大", dict(command="report", explicit=False, category=3)),
    ("隔壁在熏腊肉，满楼道都是烟", dict(command="report", explicit=False, category=7)),
    ("工地扬尘太大了没人管", dict(command="report", explicit=False, category=2)),
    ("有人在河边放鞭炮", dict(command="report", explicit=False, category=6)),
    ("村口有人烧秸秆", dict(command="report", explicit=False, category=4)),
    ("饭店油烟直排", dict(command="report", explicit=False, category=8)),
    ("工厂烟囱冒黑烟", dict(command="report", explicit=False, category=9)),
    ("這裡有人燒煤，煙很大", dict(command="report", explicit=False, category=5)),
    ("你好，请问这里能管吗", dict(command="report", explicit=False, category=None)),
    ("Someone is burning coal behind block 3", dict(command="report", explicit=False, category=5, language="en")),
    ("A man is burning rubbish", dict(command="ack", error="missing_ticket")),  # a resident: handled as report
    ("12345", dict(command="report", explicit=False)),
    ("", dict(command="empty")),
    ("   ", dict(command="empty")),
    ("。。。", dict(command="empty")),
    ("，，", dict(command="empty")),
    # --- query: 查询 / CX / Q
    ("查询 100001", dict(command="query", ticket="100001")),
    ("查询100001", dict(command="query", ticket="100001")),
    ("查询：１０００01", dict(command="query", ticket="100001")),
    ("查詢 100001", dict(command="query", ticket="100001")),
    ("查寻 100001", dict(command="query", ticket="100001")),  # typo
    ("查 100001", dict(command="query", ticket="100001")),
    ("查100001", dict(command="query", ticket="100001")),
    ("CX 100001", dict(command="query", ticket="100001", language="en")),
    ("cx100001", dict(command="query", ticket="100001")),
    ("Cx：100001", dict(command="query", ticket="100001")),
    ("Q 100001", dict(command="query", ticket="100001")),
    ("q#100001", dict(command="query", ticket="100001")),
    ("查询 工单号100001", dict(command="query", ticket="100001")),
    ("查询 100001号", dict(command="query", ticket="100001")),
    ("查询", dict(command="query", error="missing_ticket")),
    ("查询 abc", dict(command="query", error="missing_ticket")),
    # --- help, opt-out, opt-in
    ("帮助", dict(command="help")),
    ("幫助", dict(command="help")),
    ("HELP", dict(command="help", language="en")),
    ("help me", dict(command="help")),
    ("?", dict(command="help")),
    ("？", dict(command="help")),
    ("退订", dict(command="stop")),
    ("退訂", dict(command="stop")),
    ("退定", dict(command="stop")),  # typo
    ("TD", dict(command="stop")),
    ("td。", dict(command="stop")),
    ("STOP", dict(command="stop", language="en")),
    ("Stop!", dict(command="stop")),
    ("unsubscribe", dict(command="stop")),
    ("订阅", dict(command="start")),
    ("訂閱", dict(command="start")),
    ("START", dict(command="start")),
    ("unstop", dict(command="start")),
    # --- patrol check-in: 巡查 / XC / P
    ("巡查 HD03-1-1 正常", dict(command="patrol", grid="HD03-1-1", all_clear=True, problems=0)),
    ("巡查 hd03-1-1 正常", dict(command="patrol", grid="HD03-1-1", all_clear=True)),
    ("巡查HD03-1-1正常", dict(command="patrol", grid="HD03-1-1", all_clear=True)),
    ("发现HD03-1-1烧煤即办映月路", dict(command="found", grid="HD03-1-1", category=5, handling="immediate")),
    ("巡查，HD03-1-1，正常。", dict(command="patrol", grid="HD03-1-1", all_clear=True)),
    ("巡查　ＨＤ０３－１－１　正常", dict(command="patrol", grid="HD03-1-1", all_clear=True)),
    ("巡察 HD03-1-1 正常", dict(command="patrol", grid="HD03-1-1")),  # typo
    ("巡查 HD03_1_1 正常", dict(command="patrol", grid="HD03-1-1")),
    ("巡查 HD03-1-1", dict(command="patrol", grid="HD03-1-1", all_clear=True)),
    ("巡查 HD03-1-1 2", dict(command="patrol", all_clear=False, problems=2)),
    ("巡查 HD03-1-1 2个问题 煤炉两处", dict(command="patrol", problems=2, text="煤炉两处")),
    ("巡查 HD03-1-1 问题3", dict(command="patrol", problems=3)),
    ("巡查 HD03-1-1 发现三处", dict(command="patrol", problems=3)),
    ("巡查 HD03-1-1 两处", dict(command="patrol", problems=2)),
    ("巡查 HD03-1-1 0", dict(command="patrol", all_clear=True, problems=0)),
    ("巡查 HD03-1-1 无问题", dict(command="patrol", all_clear=True)),
    ("XC HD03-1-1 正常", dict(command="patrol", grid="HD03-1-1", language="zh")),
    ("xc hd03-1-1 ok", dict(command="patrol", grid="HD03-1-1", all_clear=True, language="en")),
    ("P HD03-1-1 OK", dict(command="patrol", all_clear=True)),
    ("p:HD03-1-1:1", dict(command="patrol", problems=1)),
    ("P HD03-1-1 3 problems", dict(command="patrol", problems=3)),
    (f"P HD03-1-1 OK #{UUID}", dict(command="patrol", all_clear=True, record_id=UUID)),
    (f"巡查 HD03-1-1 正常 #{UUID.upper()}", dict(command="patrol", all_clear=True, record_id=UUID)),
    ("巡查", dict(command="patrol", error="missing_grid")),
    # --- found: 发现 / F
    ("发现 HD03-1-1 烧煤 即办 映月路12号煤炉已熄灭",
     dict(command="found", grid="HD03-1-1", category=5, handling="immediate", text="映月路12号煤炉已熄灭")),
    ("發現 HD03-1-1 燒煤 即辦 映月路12號", dict(command="found", category=5, handling="immediate")),
    ("发现 HD03-1-1 烧煤 上报 需要社区协调", dict(command="found", handling="reported", text="需要社区协调")),
    ("发现 HD03-1-1 散煤 承诺3天 三户待改电", dict(command="found", handling="committed", days=3, text="三户待改电")),
    ("发现 HD03-1-1 散煤 承诺三天 三户待改电", dict(command="found", handling="committed", days=3)),
    ("发现 HD03-1-1 散煤 承诺十天", dict(command="found", handling="committed", days=10)),
    ("发现 HD03-1-1 5 承诺", dict(command="found", handling="committed", error="missing_days")),
    ("发现 HD03-1-1 烧煤即办 映月路", dict(command="found", category=5, handling="immediate", text="映月路")),
    ("发现 HD03-1-1 秸秆 田里烧秸秆", dict(command="found", category=4, handling="reported", text="田里烧秸秆")),
    ("发现，HD03-1-1，5，J，映月路12号", dict(command="found", category=5, handling="immediate", text="映月路12号")),
    ("F HD03-1-1 5 J stove out", dict(command="found", category=5, handling="immediate", text="stove out")),
    ("f hd03-1-1 3 s burning", dict(command="found", category=3, handling="reported")),
    ("F HD03-1-1 5 C3 fix stove", dict(command="found", handling="committed", days=3, text="fix stove")),
    ("F HD03-1-1 5C3 fix", dict(command="found", category=5, handling="committed", days=3)),
    ("F HD03-1-1 5J", dict(command="found", category=5, handling="immediate")),
    ("FX HD03-1-1 烟花 J", dict(command="found", category=6, handling="immediate")),
    (f"F HD03-1-1 5 J stove #{UUID}", dict(command="found", record_id=UUID, text="stove")),
    (f"发现 HD03-1-1 烧煤 即办 {UUID}", dict(command="found", record_id=UUID, handling="immediate")),
    ("发现 HD03-1-1 外星人 即办", dict(command="found", error="unknown_category", category_word="外星人")),
    ("发现 HD03-1-1 77", dict(command="found", error="unknown_category")),
    ("发现 HD03-1-1", dict(command="found", error="missing_category")),
    ("发现", dict(command="found", error="missing_grid")),
    # --- handle / escalate / acknowledge
    ("办结 100001", dict(command="handle", ticket="100001")),
    ("办结 100001 已整改完毕", dict(command="handle", ticket="100001", text="已整改完毕")),
    ("辦結 100001", dict(command="handle", ticket="100001")),
    ("办结100001已处理", dict(command="handle", ticket="100001", text="已处理")),
    ("已办结 100001", dict(command="handle", ticket="100001")),
    ("BJ 100001", dict(command="handle", ticket="100001")),
    ("bj100001", dict(command="handle", ticket="100001")),
    ("D 100001 fixed", dict(command="handle", ticket="100001", text="fixed")),
    ("办结", dict(command="handle", error="missing_ticket")),
    ("上报 100001 需街道协调", dict(command="escalate", ticket="100001", text="需街道协调")),
    ("上報 100001", dict(command="escalate", ticket="100001")),
    ("SB 100001", dict(command="escalate", ticket="100001")),
    ("E 100001 need help", dict(command="escalate", ticket="100001", text="need help")),
    ("收到 100001", dict(command="ack", ticket="100001")),
    ("已收到 100001", dict(command="ack", ticket="100001")),
    ("收到，100001。", dict(command="ack", ticket="100001")),
    ("SD 100001", dict(command="ack", ticket="100001")),
    ("sd100001", dict(command="ack", ticket="100001")),
    ("A 100001", dict(command="ack", ticket="100001")),
    ("收到", dict(command="ack", error="missing_ticket")),
]


def test_table_is_big_enough():
    assert len(TABLE) >= 100
    traditional = [text for text, _ in TABLE if normalize(text) != " ".join(text.casefold().split())
                   and any(ch in text for ch in "舉報燒號詢幫訂閱察發現辦結上報煙這裡")]
    assert len(traditional) >= 10


@pytest.mark.parametrize("text,expected", TABLE, ids=[f"{i:03d}" for i in range(len(TABLE))])
def test_parse(text, expected):
    parsed = parse(text)
    got = {key: getattr(parsed, key) for key in expected}
    assert got == expected, f"{text!r} parsed as {parsed.as_dict()}"
    if "error" not in expected:
        assert parsed.error is None, f"{text!r}: unexpected error {parsed.error}"


def test_normalize_folds_width_script_and_case():
    assert normalize("舉報　ＪＢ：１２３，") == "举报 jb:123,"
    assert normalize("a\x00b") == "ab"
