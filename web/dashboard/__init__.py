"""The leaders' dashboard (/dashboard): server-rendered pages over core.domain, one blueprint per page family.

Pages read and write only through core/domain (and core.domain.weekly_reports for the weekly report); scope comes
from core.domain.access.Principal, as in the JSON API. Charts are SVG drawn on the server (charts.py), and
the few scripts and the stylesheet ship in static/, so no request leaves the gridpatrol server.
"""
from __future__ import annotations

from flask import Blueprint

NAV = [  # (endpoint, Chinese label) in menu order
    ("dashboard_overview.index", "总览"),
    ("dashboard_problems.index", "问题"),
    ("dashboard_triage.index", "待分类"),
    ("dashboard_patrols.index", "巡查"),
    ("dashboard_reports.index", "周报"),
    ("dashboard_ledger.index", "台账"),
    ("dashboard_people.index", "人员与网格"),
    ("dashboard_schedules.index", "排班"),
    ("dashboard_messages.index", "短信"),
]


def init_app(app) -> None:
    """Jinja helpers and the static files; the page blueprints are registered through
    server.FEATURE_BLUEPRINTS, the session cookie's flags are in server/config.py."""
    # local: a feature's parts load when an app is built, not with the package
    from core.domain.phones import mask_phone
    from web.dashboard import common

    static = Blueprint("dashboard_static", __name__, static_folder="static",
                       static_url_path="/dashboard/static")
    app.register_blueprint(static)
    app.jinja_env.globals.update(
        _=common.t, csrf_token=common.csrf_token, local=common.local, lang=common.lang,
        current_leader=common.current_leader, NAV=NAV,
        short_name=common.short_name, mask=mask_phone)
