"""Every reply the gateway sends, Chinese and English (the alerts' wording is core/domain/alert_texts.py).

Each template is written to fit ONE UCS-2 segment (70 characters) with realistic values (a 6-digit ticket,
a grid code like HD03-1-1, a category name): one Chinese character makes the whole text UCS-2, and a second
segment doubles the cost and may arrive out of order on old handsets. tests/sms/test_sms_templates.py renders
every template with the SAMPLE values below and checks it.
"""
from __future__ import annotations

from core.domain.segments import count_segments

TEMPLATES: dict[str, dict[str, str]] = {
    # --- replies to residents
    "report_ok": {
        "zh": "已受理，工单号{ticket}（{category}）。查询请回复：查询 {ticket}",
        "en": "Received: ticket {ticket} ({category}). To check, reply Q {ticket}"},
    "report_ok_area": {
        "zh": "已受理，工单号{ticket}（{category}），由{area}处理。查询回复：查询 {ticket}",
        "en": "Ticket {ticket} ({category}) goes to {area}. To check, reply Q {ticket}"},
    "query_none": {
        "zh": "未找到您举报的工单。请回复工单号查询，如：查询 100001",
        "en": "No ticket of yours found. Send: Q <ticket>, e.g. Q 100001"},
    "chat": {
        "zh": "您好，这里是大气污染举报短信。举报请写明问题和地点，查询请回复工单号。",
        "en": "Hi! Text what and where to report pollution, or your ticket number."},
    "spam": {
        "zh": "本号码只受理大气污染举报，如需举报请写明问题和地点。",
        "en": "This number only takes pollution reports: text what and where."},
    "query_status": {
        "zh": "工单{ticket}（{category}）：{status}，由{level}负责。",
        "en": "Ticket {ticket} ({category}): {status}, {level} level."},
    "ticket_not_found": {
        "zh": "未找到您的工单{ticket}。格式：{form}，如：{example}",
        "en": "Ticket {ticket} not found. Send: {form}, e.g. {example}"},
    "help": {
        "zh": "举报：举报 类别 地点，如 举报 烧煤 映月路12号。查询：查询 工单号。退订回TD",
        "en": "Report: R <what> <where>, e.g. R coal 12 Main St. Check: Q <ticket>"},
    "help_staff": {
        "zh": "巡查:XC 网格 正常 发现:F 网格 类别 J/S/C3 说明 办结:BJ 单号 上报:SB 单号 收到:SD 单号",
        "en": "P <grid> OK|n; F <grid> <cat> J|S|C3 text; D/E/A <ticket>"},
    "stop_ok": {
        "zh": "已退订，今后不再发送短信。回复“订阅”可恢复。",
        "en": "Unsubscribed: you will get no more texts. Reply START to resume."},
    "start_ok": {
        "zh": "已恢复订阅。回复“帮助”查看用法。",
        "en": "Subscribed again. Reply HELP for how to use this number."},
    "rate_limited": {
        "zh": "您发送过于频繁，已记录。一小时内的后续短信将不再回复。",
        "en": "Too many texts: saved, but we will not reply for the next hour."},
    "not_permitted": {
        "zh": "该指令仅限登记的网格员和组长使用。举报请发：举报 类别 地点",
        "en": "Only registered patrol staff may use this. To report: R <what> <where>"},
    "promise_too_long": {
        "zh": "承诺期限最长{count}天，请改短后重发。",
        "en": "A promise may run at most {count} days; send again with fewer."},
    "pin_required": {
        "zh": "此号码的工作指令需在末尾加PIN，如：办结 100002 已熄灭 *1234",
        "en": "This number needs your PIN after staff commands, e.g. D 100002 *1234"},
    "pin_locked": {
        "zh": "PIN错误次数过多，此号码的工作指令已暂时锁定；如非本人操作请联系管理员。",
        "en": "Too many wrong PINs: staff commands paused. Not you? Tell admin."},
    "system_error": {
        "zh": "暂时无法处理，短信已保存，工作人员会跟进。",
        "en": "We could not process this now; it is saved and staff will follow up."},
    # --- replies to patrollers and leaders
    "patrol_ok": {
        "zh": "已记录{grid}巡查：{outcome}（{time}）。",
        "en": "Patrol of {grid} recorded: {outcome} at {time}."},
    "patrol_ok_window": {
        "zh": "已记录{grid}巡查：{outcome}，{time}（{window}时段）。",
        "en": "Patrol of {grid} recorded: {outcome} at {time} ({window})."},
    "patrol_ok_outside": {
        "zh": "已记录{grid}巡查：{outcome}，{time}。注意：不在巡查时段内。",
        "en": "Patrol of {grid}: {outcome} at {time}, outside patrol hours."},
    "found_ok": {
        "zh": "已登记工单{ticket}：{grid}{category}，{handling}，期限{deadline}。",
        "en": "Ticket {ticket}: {grid} {category}, {handling}, due {deadline}"},
    "handle_ok": {
        "zh": "工单{ticket}已办结，谢谢。",
        "en": "Ticket {ticket} marked as handled. Thank you."},
    "escalate_ok": {
        "zh": "工单{ticket}已上报至{area}，期限{deadline}。",
        "en": "Ticket {ticket} escalated to {area}, due {deadline}."},
    "ack_alerts_ok": {
        "zh": "已确认收到{count}条提醒，后续提醒已停止。",
        "en": "{count} alert(s) acknowledged; reminders stopped."},
    "ack_ok": {
        "zh": "已确认收到工单{ticket}，提醒已停止。",
        "en": "Ticket {ticket} acknowledged; reminders stopped."},
    # --- errors: what was wrong, the right form, an example
    "missing": {
        "zh": "缺少{what}。格式：{form}，如：{example}",
        "en": "Missing {what}. Send: {form}, e.g. {example}"},
    "unknown_grid": {
        "zh": "未知网格编号{grid}。格式：{form}，如：{example}",
        "en": "Unknown grid {grid}. Send: {form}, e.g. {example}"},
    "unknown_category": {
        "zh": "未知类别“{word}”。可用编号1-10或关键词，如：烧煤、扬尘、秸秆",
        "en": "Unknown category '{word}'. Use 1-10 or a word, e.g. coal, dust"},
    "out_of_scope": {
        "zh": "您无权处理{area}的事项，请联系上级。",
        "en": "You may not act in {area}; please ask your leader."},
    "illegal_state": {
        "zh": "工单{ticket}当前为{status}，无法{action}。",
        "en": "Ticket {ticket} is {status}; cannot {action} it."},
    "at_top_level": {
        "zh": "工单{ticket}已在最高层级{area}，无法再上报。",
        "en": "Ticket {ticket} is already at the top level ({area})."},
}

# The right form and an example per command, for error replies and help.
FORMS: dict[str, dict[str, tuple[str, str]]] = {
    "report": {"zh": ("举报 类别 地点", "举报 烧煤 映月路12号"), "en": ("R <what> <where>", "R coal 12 Main St")},
    "query": {"zh": ("查询 工单号", "查询 100001"), "en": ("Q <ticket>", "Q 100001")},
    "patrol": {"zh": ("巡查 网格 正常", "巡查 {grid} 正常"), "en": ("P <grid> OK", "P {grid} OK")},
    "found": {"zh": ("发现 网格 类别 即办", "发现 {grid} 烧煤 即办"), "en": ("F <grid> <cat> J", "F {grid} 5 J")},
    "handle": {"zh": ("办结 工单号", "办结 100001"), "en": ("D <ticket>", "D 100001")},
    "escalate": {"zh": ("上报 工单号 原因", "上报 100001"), "en": ("E <ticket> [reason]", "E 100001")},
    "ack": {"zh": ("收到 工单号", "收到 100001"), "en": ("A <ticket>", "A 100001")},
}

WORDS: dict[str, dict[str, str]] = {
    "ticket": {"zh": "工单号", "en": "ticket number"},
    "grid": {"zh": "网格编号", "en": "grid code"},
    "category": {"zh": "类别", "en": "category"},
    "text": {"zh": "内容", "en": "text"},
    "days": {"zh": "承诺天数", "en": "days"},
    "all_clear": {"zh": "正常", "en": "all clear"},
    "problems": {"zh": "发现问题{n}处", "en": "{n} problem(s)"},
    "immediate": {"zh": "即办", "en": "immediate"},
    "reported": {"zh": "上报", "en": "reported"},
    "committed": {"zh": "承诺", "en": "committed"},
    "open": {"zh": "待处理", "en": "open"},
    "in_progress": {"zh": "处理中", "en": "in progress"},
    "resolved": {"zh": "已办结", "en": "handled"},
    "closed": {"zh": "已关闭", "en": "closed"},
    "rejected": {"zh": "不予受理", "en": "rejected"},
    "duplicate": {"zh": "重复举报", "en": "a duplicate"},
    "district": {"zh": "区", "en": "district"},
    "subdistrict": {"zh": "街道", "en": "sub-district"},
    "community": {"zh": "社区", "en": "community"},
    "grid_level": {"zh": "网格", "en": "grid"},
    "other": {"zh": "相关部门", "en": "office"},
    "handle": {"zh": "办结", "en": "handle"},
    "escalate": {"zh": "上报", "en": "escalate"},
    "ack": {"zh": "确认", "en": "acknowledge"},
}

# Realistic values used by the template test: long-ish but common.
SAMPLE = {"ticket": "100234", "category": "散煤/燃煤炉", "status": "处理中", "level": "街道", "form": "巡查 网格 正常",
          "example": "巡查 HD03-1-1 正常", "grid": "HD03-1-1", "outcome": "发现问题2处", "time": "09:35",
          "handling": "承诺", "deadline": "11-25 23:59", "area": "映月街道", "what": "承诺天数", "word": "烧啥",
          "action": "办结", "date": "11月22日", "window": "08:00-12:00", "patrols": "126", "found": "18",
          "handled": "15", "overdue": "2", "count": "3"}


# English category names short enough for one segment; Chinese names are all six characters or fewer.
SHORT_EN = {"coal": "coal stove", "construction_dust": "site dust", "cured_meat": "meat smoking",
            "industrial": "factory smoke", "garbage_burning": "rubbish fire", "straw_burning": "straw fire"}


def category_name(category, lang: str) -> str:
    if lang == "en":
        return SHORT_EN.get(category.code, category.name_en)
    return category.name_zh


def word(key: str, lang: str, **values) -> str:
    if key == "grid":
        key = "grid_level" if "n" not in values else key
    text = WORDS.get(key, {}).get(lang) or WORDS.get(key, {}).get("zh") or key
    return text.format(**values) if values else text


def form(command: str, lang: str, grid: str = "HD03-1-1") -> tuple[str, str]:
    shape, example = FORMS[command][lang]
    return shape, example.format(grid=grid)


def render(key: str, lang: str = "zh", **values) -> str:
    lang = lang if lang in ("zh", "en") else "zh"
    return TEMPLATES[key][lang].format(**values)


def area_name(area, lang: str) -> str:
    """The area that will handle a report, as a resident reads it: its name, or its code in English."""
    return area.code if lang == "en" else area.name


def too_long(text: str) -> bool:
    """More than one segment (70 UCS-2 units for Chinese, 160 GSM-7 characters for English)."""
    return count_segments(text).segments > 1
