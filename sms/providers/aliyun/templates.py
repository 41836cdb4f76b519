"""Every purpose gridpatrol sends through Aliyun, the named variables it fills, and the template text to
submit for approval (短信通知 type). ALIYUN_SMS_TEMPLATES maps these purposes to the approved codes.

Aliyun's variable rules for notification templates: a value is required (never empty), at most 35
characters for the "其他" attribute we declare for every variable, no 【】 (they would read as a
signature) and no links. We refuse a value that breaks them when the message is queued: a clear error in
the message log, never a silently shortened alert.
"""
from __future__ import annotations

import json
import re

VARIABLE_MAX_CHARS = 35
CODE = re.compile(r"^SMS_\d{3,20}$")
FORBIDDEN = re.compile(r"[【】]|https?://|www\.", re.IGNORECASE)

# purpose → (variables in order, template text to submit for approval)
TEMPLATES: dict[str, tuple[tuple[str, ...], str]] = {
    "missed_patrol": (("grid", "window"),
                      "${grid}网格${window}未巡查，请尽快安排补巡，并向网格办号码回复收到确认。"),
    "missed_patrol_up": (("grid", "window", "reason"),
                         "${grid}网格${window}未巡查（${reason}），请督促网格员补巡。"),
    "overdue": (("ticket", "category", "area", "deadline"),
                "工单${ticket}（${category}，${area}）已超过办理期限${deadline}，请尽快办理，并向网格办号码回复收到确认。"),
    "escalation": (("ticket", "category", "from_area", "to_area", "deadline"),
                   "工单${ticket}（${category}）在${from_area}超期未办，已升级至${to_area}挂牌督办，新期限${deadline}。"),
    "overdue_digest": (("area", "day", "count"),
                       "${area}${day}共有${count}件超期未办结问题，请登录系统查看并督办。"),
    "weekly_summary": (("area", "week", "coverage", "overdue"),
                       "${area}${week}周报：巡查覆盖率${coverage}，逾期${overdue}件，详见系统周报。"),
    "provider_failover": (("down", "to"),
                          "短信通道${down}暂不可用，告警已改由${to}发送，请检查网关手机或服务商账户。"),
    "notice": (("content",),
               "网格巡查通知：${content}，如有疑问请联系街道网格办。"),
}


class TemplateError(ValueError):
    """A message the templates cannot carry; the message says which variable and why."""


def parse_codes(raw) -> dict[str, str]:
    """ALIYUN_SMS_TEMPLATES (JSON object purpose → template code), checked at startup."""
    if raw in (None, ""):
        return {}
    try:
        codes = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"ALIYUN_SMS_TEMPLATES is not a JSON object: {exc}") from None
    if not isinstance(codes, dict):
        raise TemplateError("ALIYUN_SMS_TEMPLATES must be a JSON object of purpose → template code")
    for purpose, code in codes.items():
        if purpose not in TEMPLATES:
            raise TemplateError(f"ALIYUN_SMS_TEMPLATES: unknown purpose {purpose!r}; "
                                f"use {', '.join(TEMPLATES)}")
        if not isinstance(code, str) or not CODE.match(code):
            raise TemplateError(f"ALIYUN_SMS_TEMPLATES[{purpose!r}] must be a template code like SMS_123456789")
    return codes


def variables_for(purpose: str, params: dict | None, body: str) -> tuple[str, dict[str, str]]:
    """(template purpose, variables) for one message: its own template variables when the sender gave
    them, else the `notice` template carrying the text. Raises TemplateError."""
    if params and params.get("template"):
        template, values = params["template"], params.get("vars") or {}
    else:
        template, values = "notice", {"content": body}
    if template not in TEMPLATES:
        raise TemplateError(f"no Aliyun template for {template!r}")
    names, _ = TEMPLATES[template]
    out = {}
    for name in names:
        value = values.get(name)
        value = "" if value is None else str(value).strip()
        if not value:
            raise TemplateError(f"template {template}: variable {name} is empty (Aliyun requires a value)")
        if len(value) > VARIABLE_MAX_CHARS:
            raise TemplateError(f"template {template}: variable {name} has {len(value)} characters, Aliyun allows "
                                f"{VARIABLE_MAX_CHARS}: {value[:12]}…")
        if FORBIDDEN.search(value):
            raise TemplateError(f"template {template}: variable {name} contains 【】 or a link, which Aliyun refuses")
        out[name] = value
    return template, out


def render(template: str, values: dict[str, str]) -> str:
    """The text a recipient reads (without the 【signature】), as the stand-in and the docs show it."""
    text = TEMPLATES[template][1]
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text
