"""Every reply and alert template fits one UCS-2 segment (70 characters) with realistic values."""
from __future__ import annotations

import string

import pytest

from core.domain.catalogue import DEFAULT_CATEGORIES
from core.domain.segments import count_segments
from sms.templates import FORMS, SAMPLE, SHORT_EN, TEMPLATES, WORDS, render

SAMPLE_EN = dict(SAMPLE, category="rubbish fire", status="in progress", level="sub-district",
                 form="F <grid> <cat> J", example="F HD03-1-1 5 J", outcome="2 problem(s)", handling="committed",
                 area="Yingyue", what="ticket number", word="xyzzy", action="acknowledge", date="Nov 22")


@pytest.mark.parametrize("key", sorted(TEMPLATES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_fits_one_ucs2_segment(key, lang):
    text = render(key, lang, **(SAMPLE if lang == "zh" else SAMPLE_EN))
    info = count_segments(text)
    assert info.units <= 70, f"{key}/{lang} is {info.units} units: {text}"
    assert info.segments == 1


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_both_languages_take_the_same_values(key):
    fields = {lang: {f for _, f, _, _ in string.Formatter().parse(TEMPLATES[key][lang]) if f}
              for lang in ("zh", "en")}
    assert fields["zh"] == fields["en"]
    assert fields["zh"] <= set(SAMPLE)


def test_worst_case_category_names_still_fit():
    longest_zh = max((zh for _, _, zh, *_ in DEFAULT_CATEGORIES), key=len)
    longest_en = max([SHORT_EN.get(code, en) for _, code, _, en, *_ in DEFAULT_CATEGORIES], key=len)
    for key in ("report_ok", "found_ok"):
        assert count_segments(render(key, "zh", **dict(SAMPLE, category=longest_zh))).units <= 70
        assert count_segments(render(key, "en", **dict(SAMPLE_EN, category=longest_en))).units <= 70


def test_forms_and_words_exist_in_both_languages():
    assert all(set(v) == {"zh", "en"} for v in FORMS.values())
    assert all(set(v) == {"zh", "en"} for v in WORDS.values())


def test_worker_alert_texts_fit_one_segment_in_the_common_case():
    """Alerts are written by core/domain/alert_texts.py; with the longest category and a long grid code each is one
    segment (Chinese: 70 UCS-2 units; English stays GSM-7, so it must not quote 收到)."""
    from datetime import datetime, timezone
    from core.domain import alert_texts as texts
    deadline = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    longest_zh = max((zh for _, _, zh, *_ in DEFAULT_CATEGORIES), key=len)
    for lang, category in (("zh", longest_zh), ("en", "coal")):
        bodies = [texts.missed_window(lang, "HD03-12-8", "14:00-18:00", "除夕" if lang == "zh" else ""),
                  texts.missed_up(lang, "HD03-12-8", "14:00-18:00", "streak"),
                  texts.overdue(lang, "100001", category, "HD03-12-8", deadline, "Asia/Shanghai"),
                  texts.escalated(lang, "100001", category, "HD03-12-8", "HD03-12", deadline, "Asia/Shanghai")]
        for body in bodies:
            assert count_segments(body).segments == 1, body
