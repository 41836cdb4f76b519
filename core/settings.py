"""The one way configuration reaches the rules, each setting written once.

- `DEFAULT_TIMEZONE`: the zone of areas that set none (schedules, deadlines, "end of day").
- `DomainSettings`: adapters build it from the app config (`DomainSettings.from_config(app.config)`) and pass
  its values in, so a setting (the zone, the deadline policy, the phone region) cannot mean one thing in
  one channel and another elsewhere; the incident, area and calendar rules never read config.
- The knobs of the background rules (missed patrols, overdue, alerts, reports, the periodic timer), each
  with a default: `get(name)` reads the app config first (tests, create_app overrides), then the
  environment (GRIDPATROL_<NAME>), then the default. The scans read them inside their job's app.
- `ConfigError`: a setting is missing or malformed; its message names the environment variable.

server.config reads the environment for the app with these as fallbacks. This module loads no Flask.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_TIMEZONE = "Asia/Shanghai"  # areas that set no zone (schedules, deadlines, "end of day")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class DomainSettings:
    timezone: str = DEFAULT_TIMEZONE  # for areas that set none
    deadline_policy: dict = field(default_factory=dict)
    phone_region: str = "CN"

    @classmethod
    def from_config(cls, config: Mapping) -> "DomainSettings":
        return cls(timezone=config.get("GRIDPATROL_TIMEZONE") or DEFAULT_TIMEZONE,
                   deadline_policy=dict(config.get("DEADLINE_POLICY") or {}),
                   phone_region=config.get("GRIDPATROL_PHONE_REGION") or "CN")

    def incident_kwargs(self) -> dict:
        """The keyword arguments incident rules take (create, escalate, update)."""
        return {"policy": self.deadline_policy or None, "default_tz": self.timezone}


# The background rules' knobs (GRIDPATROL_<NAME> in the environment).
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


def _current_app(app=None):
    if app is not None:
        return app
    # local: Flask is asked for the current app only when a setting is read, so this module (and the pure
    # rules that import it) load without Flask
    from flask import current_app, has_app_context
    return current_app if has_app_context() else None


def get(name: str, app=None):
    """A knob: the app config first (tests, create_app overrides), then GRIDPATROL_<NAME>, then the default."""
    default = DEFAULTS[name]
    app = _current_app(app)
    if app is not None and name in app.config:
        return app.config[name]
    raw = os.environ.get(f"GRIDPATROL_{name}")
    if raw not in (None, ""):
        return _coerce(raw, default)
    return default


def domain(app=None) -> DomainSettings:
    """The settings the rules take, built the one way every channel builds them."""
    app = _current_app(app)
    return DomainSettings.from_config(app.config if app is not None else {})


def default_timezone(app=None) -> str:
    return domain(app).timezone
