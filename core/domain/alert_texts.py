"""Alert texts, Chinese first, English for members whose locale is "en". Short: one SMS segment (70
UCS-2 characters) where possible, since leaders read them on basic phones."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


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
