"""短信: the outbox and the inbound log. Scope is the messages API's (sms.visibility.message_filter); phone
numbers are masked unless the permission table lets the leader read reporters' phones in the area shown
(core.domain.access.may_see_phones, the API's rule too)."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from core.domain.access import may_see_phones
from core.domain.phones import mask_phone
from core.db import db
from core.models import Area
from sms.models import InboundMessage, OutboundMessage
from sms.visibility import message_filter
from web.dashboard.common import breadcrumb, children_of, focus_area, leader, make_blueprint, page

bp = make_blueprint("dashboard_messages", __name__, "/messages")
STATE_ZH = {"queued": "排队中", "sending": "发送中", "sent": "已发送", "delivered": "已送达", "undelivered": "未送达",
            "failed": "失败", "opted_out": "已退订", "duplicate": "重复未发", "expired": "已过期",
            "invalid_number": "号码无效", "ok": "已处理", "error": "无法识别", "not_permitted": "无权限",
            "rate_limited": "过于频繁", "opted_in": "恢复订阅", "help": "帮助", "empty": "空短信"}
PURPOSE_ZH = {"alert": "提醒", "reply": "回复", "manual": "手动", "weekly": "周报"}
PAGE_SIZE = 50


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    direction = request.args.get("direction") if request.args.get("direction") in ("inbound", "outbound") else "inbound"
    try:
        page_no = max(1, min(int(request.args.get("page", "1")), 10000))
    except ValueError:
        page_no = 1
    if direction == "outbound":
        model, at, area_col, member_col = (OutboundMessage, OutboundMessage.created_at,
                                           OutboundMessage.area_id, OutboundMessage.member_id)
    else:
        model, at, area_col, member_col = (InboundMessage, InboundMessage.received_at,
                                           InboundMessage.area_id, InboundMessage.member_id)
    statement = select(model).order_by(at.desc(), model.id.desc())
    scope = message_filter(principal, area_col, member_col)
    if scope is not None:
        statement = statement.where(scope)
    # The focus area narrows the log; messages tied to no area stay visible within the leader's scope.
    statement = statement.where(area_col.in_(select(Area.id).where(Area.path.startswith(focus.path)))
                                | area_col.is_(None))
    rows = db.session.scalars(statement.offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    show = may_see_phones(principal, focus)
    return page("messages.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page_no=page_no,
                direction=direction, focus=focus, crumbs=breadcrumb(principal, focus), children=children_of(focus),
                endpoint="dashboard_messages.index", extra={"direction": direction},
                phone=(lambda p: p) if show else mask_phone, show_phones=show,
                STATE_ZH=STATE_ZH, PURPOSE_ZH=PURPOSE_ZH)
