"""SMS gateway: coded reports in, alerts out, nothing lost and nothing sent twice.

Settings (environment variable → config key, default):
  GRIDPATROL_SMS_BACKEND          SMS_BACKEND                  console | twilio
  GRIDPATROL_SMS_EXPIRE_AFTER     SMS_EXPIRE_AFTER_SECONDS     21600 (6 h; queued longer → expired)
  GRIDPATROL_SMS_MAX_ATTEMPTS     SMS_MAX_ATTEMPTS             5
  GRIDPATROL_SMS_RETRY_BASE       SMS_RETRY_BASE_SECONDS       30 (doubles per attempt)
  GRIDPATROL_SMS_RETRY_MAX        SMS_RETRY_MAX_SECONDS        1800
  GRIDPATROL_SMS_SENDING_LEASE    SMS_SENDING_LEASE_SECONDS    120 (a `sending` row older than this is reconciled)
  GRIDPATROL_SMS_SWEEP_GRACE      SMS_SWEEP_GRACE_SECONDS      60
  GRIDPATROL_SMS_DUPLICATE_WINDOW SMS_DUPLICATE_WINDOW_SECONDS 600 (same body to same phone → duplicate; 0 = off)
  GRIDPATROL_SMS_RATE_LIMIT       SMS_RATE_LIMIT_PER_HOUR      20 inbound texts per sender per hour
  GRIDPATROL_SMS_INTAKE_AREA      SMS_INTAKE_AREA_CODE         area for resident reports naming no place
  GRIDPATROL_SMS_CATEGORY_THRESHOLD SMS_CATEGORY_THRESHOLD     0.5 (below: 其他, 待分类)
See docs/sms.md.
"""
from __future__ import annotations

import os

DEFAULTS = {
    "SMS_EXPIRE_AFTER_SECONDS": ("GRIDPATROL_SMS_EXPIRE_AFTER", 6 * 3600),
    "SMS_MAX_ATTEMPTS": ("GRIDPATROL_SMS_MAX_ATTEMPTS", 5),
    "SMS_RETRY_BASE_SECONDS": ("GRIDPATROL_SMS_RETRY_BASE", 30),
    "SMS_RETRY_MAX_SECONDS": ("GRIDPATROL_SMS_RETRY_MAX", 1800),
    "SMS_SENDING_LEASE_SECONDS": ("GRIDPATROL_SMS_SENDING_LEASE", 120),
    "SMS_SWEEP_GRACE_SECONDS": ("GRIDPATROL_SMS_SWEEP_GRACE", 60),
    "SMS_DUPLICATE_WINDOW_SECONDS": ("GRIDPATROL_SMS_DUPLICATE_WINDOW", 600),
    "SMS_RATE_LIMIT_PER_HOUR": ("GRIDPATROL_SMS_RATE_LIMIT", 20),
}


def init_app(app) -> None:
    """Fill the sms settings the foundation config does not know, environment first."""
    from server.config import ConfigError
    for key, (variable, default) in DEFAULTS.items():
        if key in app.config:
            continue
        raw = os.environ.get(variable)
        try:
            app.config[key] = int(raw) if raw not in (None, "") else default
        except ValueError as exc:
            raise ConfigError(f"{variable} must be a whole number, got {raw!r}") from exc
    app.config.setdefault("SMS_INPROCESS_RETRY", True)
    app.config.setdefault("SMS_INTAKE_AREA_CODE", os.environ.get("GRIDPATROL_SMS_INTAKE_AREA") or None)
    raw = os.environ.get("GRIDPATROL_SMS_CATEGORY_THRESHOLD")
    try:  # below this confidence a resident's report is filed as 其他 marked 待分类 (sms.understanding)
        app.config.setdefault("SMS_CATEGORY_THRESHOLD", float(raw) if raw not in (None, "") else 0.5)
    except ValueError as exc:
        raise ConfigError(f"GRIDPATROL_SMS_CATEGORY_THRESHOLD must be a number, got {raw!r}") from exc
    from sms.understanding.category import warm_up
    warm_up()  # load jieba's dictionary in the background so the first resident text does not wait for it
