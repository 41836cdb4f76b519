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


BARE_ACK_HANDLERS = "gridpatrol.sms.bare_ack_handlers"


def register_bare_ack(app, handler) -> None:
    """A feature that sends alerts asking for a bare 收到 (workers) registers who answers it:
    `handler(session, member, now=, channel="sms")` returns the alerts it acknowledged (each with `key` and
    `area_id`). SMS knows nothing of those features; the first handler that acknowledges something wins."""
    handlers = app.extensions.setdefault(BARE_ACK_HANDLERS, [])
    if handler not in handlers:
        handlers.append(handler)


def init_app(app) -> None:
    """Register the sms tables and fill the sms settings the foundation config does not know,
    environment first."""
    import sms.models  # noqa: F401  (the sms tables join the one metadata)
    from server.config import ConfigError
    for key, (variable, default) in DEFAULTS.items():
        if key in app.config:
            continue
        raw = os.environ.get(variable)
        try:
            app.config[key] = int(raw) if raw not in (None, "") else default
        except ValueError as exc:
            raise ConfigError(f"{variable} must be a whole number, got {raw!r}") from exc
    app.config.setdefault("SMS_INTAKE_AREA_CODE", os.environ.get("GRIDPATROL_SMS_INTAKE_AREA") or None)
