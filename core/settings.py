"""The workers' knobs, each with a default, overridable in app config or the environment (GRIDPATROL_...).

Kept here rather than in server/config.py so the feature owns its settings; `get(name)` reads the app
config first (tests, create_app overrides), then the environment, then the default.
"""
from __future__ import annotations

import json
import os

from flask import current_app, has_app_context

from core.domain.settings import DomainSettings

DEFAULTS: dict = {
    "WORKERS_EMBEDDED_TIMER": True,  # run periodic jobs in-process when there is no REDIS_URL
    "WORKERS_TIMER_SECONDS": 60,
    "WORKERS_MISSED_GRACE_MINUTES": 15,
    "WORKERS_MISSED_ESCALATE_MINUTES": 60,  # unacknowledged missed-patrol alert → community leader
    "WORKERS_PLAN_DAYS_AHEAD": 1,  # windows are planned for today and this many days after
    "WORKERS_UNSCHEDULED_USE_DEFAULT": False,  # grids with no schedule anywhere get the default windows
    "WORKERS_HEIGHTENED_URGENT": True,  # missed windows of heightened periods ignore quiet hours
    "WORKERS_OVERDUE_GRACE_MINUTES": 120,
    "WORKERS_OVERDUE_LOOKBACK_HOURS": 72,  # deadlines further back are left to `alerts run --now`
    "WORKERS_TOP_LEVEL": "subdistrict",  # overdue at this level goes to the daily digest, not up
    "WORKERS_QUIET_START": "22:00",
    "WORKERS_QUIET_END": "07:00",
    "WORKERS_URGENT_CATEGORIES": None,  # list of category codes; None = Category.urgent
    "WORKERS_DIGEST_HOUR": 8,  # local hour of the daily overdue digest
    "WORKERS_REPORT_WEEKDAY": 3,  # Monday=0 … Thursday=3
    "WORKERS_REPORT_HOUR": 9,
    "WORKERS_SCAN_BATCH": 2000,  # due rows judged (and their alerts recorded) per transaction
    "WORKERS_DELIVER_BATCH": 500,  # alerts handed to the SMS outbox per transaction
    "WORKERS_SCAN_INTERVAL_SECONDS": 300,
    "WORKERS_ACK_LOOKBACK_HOURS": 24,  # a bare 收到 acknowledges alerts this recent
    "WORKERS_RQ_DASHBOARD": True,  # mount rq-dashboard at /admin/rq (needs the `dashboard` extra)
}


def _coerce(raw: str, default):
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if default is None:
        return json.loads(raw) if raw.strip().startswith("[") else [c.strip() for c in raw.split(",") if c.strip()]
    return raw


def get(name: str, app=None):
    default = DEFAULTS[name]
    app = app or (current_app if has_app_context() else None)
    if app is not None and name in app.config:
        return app.config[name]
    raw = os.environ.get(f"GRIDPATROL_{name}")
    if raw not in (None, ""):
        return _coerce(raw, default)
    return default


def domain(app=None) -> DomainSettings:
    """The settings the rules take, built the one way every channel builds them."""
    app = app or (current_app if has_app_context() else None)
    return DomainSettings.from_config(app.config if app is not None else {})


def default_timezone(app=None) -> str:
    return domain(app).timezone
