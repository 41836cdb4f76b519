"""The wording of every alert the background rules raise (missed patrols, overdue, escalation, the daily
digest, the weekly report's summary), Chinese first, English for members whose locale is "en", and the same
facts as named variables for template providers. Short: one SMS segment (70 UCS-2 characters) where
possible, the weekly summary at most two, since leaders read them on basic phones."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.domain.segments import count_segments


def _local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def missed_window(locale: str, grid_code: str, label: str, heightened: str = "", site: str = "") -> str:
    if locale == "en":
        where = f" at {site}" if site else ""
        tag = f"[{heightened}] " if heightened else ""
        return f"{tag}Grid {grid_code} {label}{where}: no patrol recorded. Reply A to acknowledge."
    tag = f"【{heightened}】" if heightened else ""
    where = f"（{site}定点值守）" if site else ""
    return f"{tag}{grid_code} 网格 {label}{where} 未巡查。回复“收到”确认。"


def missed_up(locale: str, grid_code: str, label: str, reason: str, heightened: str = "", site: str = "") -> str:
    if locale == "en":
        why = "two windows in a row" if reason == "streak" else "alert not acknowledged"
        return f"Grid {grid_code} {label}{' at ' + site if site else ''}: no patrol ({why})."
    why = "连续两次未巡查" if reason == "streak" else "提醒未回复"
    tag = f"【{heightened}】" if heightened else ""
    return f"{tag}{grid_code} 网格 {label}{'（' + site + '）' if site else ''} 未巡查（{why}），请督促。"


def overdue(locale: str, ticket: str, category: str, area_code: str, deadline: datetime, tz: str) -> str:
    if locale == "en":
        return f"Ticket {ticket} ({category}, {area_code}) is past its deadline {_local(deadline, tz)}. Reply A."
    return f"工单{ticket}（{category}，{area_code}）已超期（期限{_local(deadline, tz)}），请尽快办理，回复“收到”。"


def escalated(locale: str, ticket: str, category: str, from_code: str, to_code: str, deadline: datetime,
              tz: str) -> str:
    if locale == "en":
        return (f"Ticket {ticket} ({category}) overdue at {from_code}: escalated to {to_code}, flagged. "
                f"New deadline {_local(deadline, tz)}.")
    return (f"工单{ticket}（{category}）在{from_code}超期未办，已升级{to_code}挂牌督办，"
            f"新期限{_local(deadline, tz)}。")


def digest(locale: str, area_name: str, day: str, tickets: list[str]) -> str:
    shown = "、".join(tickets[:8]) + ("等" if len(tickets) > 8 else "")
    if locale == "en":
        return f"Overdue digest {day} {area_name}: {len(tickets)} flagged open: {', '.join(tickets[:8])}"
    return f"【逾期督办日报{day}】{area_name}{len(tickets)}件超期未办结：{shown}"


def template_params(template: str, **variables) -> dict:
    """The same facts as the text, as named variables for template SMS providers (Aliyun needs an approved
    template per purpose; docs/sms.md lists the exact texts). Values are never cut to fit: the provider
    refuses an over-long one at queue time, in the log."""
    return {"template": template, "vars": {k: str(v) for k, v in variables.items()}}


def window_params(grid_code: str, label: str, site: str = "", reason: str = "") -> dict:
    window = f"{label}（{site}）" if site else label
    if reason:
        why = "连续两次未巡查" if reason == "streak" else "提醒未回复"
        return template_params("missed_patrol_up", grid=grid_code, window=window, reason=why)
    return template_params("missed_patrol", grid=grid_code, window=window)


def incident_params(template: str, ticket: str, category: str, deadline: datetime, tz: str, **areas) -> dict:
    return template_params(template, ticket=ticket, category=category, deadline=_local(deadline, tz), **areas)


# ---------------------------------------------------------------- the weekly report's summary

def _pct(value) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


MAX_SEGMENTS = 2


def _segments(text: str) -> int:
    return count_segments(text).segments


def weekly_summary(locale: str, name: str, week: dict, m: dict, prev: dict, extra: str = "") -> str:
    """One or two SMS segments: the figures first; the ranking/extra is dropped, then the text cut, if a
    long community name would make it three."""
    for tail in (extra, ""):
        text = _summary(locale, name, week, m, prev, tail)
        if _segments(text) <= MAX_SEGMENTS:
            return text
    while _segments(text) > MAX_SEGMENTS:
        text = text[:-2] + "…"
    return text


def _summary(locale: str, name: str, week: dict, m: dict, prev: dict, extra: str) -> str:
    span = f"{week['start'][5:].replace('-', '/')}-{week['end'][5:].replace('-', '/')}"
    if locale == "en":
        text = (f"Weekly {span} {name}: coverage {_pct(m['coverage'])} (prev {_pct(prev['coverage'])}), "
                f"{m['incidents']} problems, {m['resolved_on_time']} on time, {m['overdue']} overdue, "
                f"{m['escalations']} escalated.{extra}")
    else:
        text = (f"【周报{span}】{name}：巡查覆盖{_pct(m['coverage'])}（上周{_pct(prev['coverage'])}），"
                f"问题{m['incidents']}件（居民举报{m['resident_reports']}），按期办结{m['resolved_on_time']}，"
                f"逾期{m['overdue']}，升级{m['escalations']}。{extra}")
    return text


def weekly_params(name: str, week: dict, m: dict) -> dict:
    """The weekly summary's named variables for template providers (see template_params)."""
    span = f"{week['start'][5:].replace('-', '/')}-{week['end'][5:].replace('-', '/')}"
    return template_params("weekly_summary", area=name, week=span, coverage=_pct(m["coverage"]),
                           overdue=m["overdue"])
