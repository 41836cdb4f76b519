"""SMS gateway: coded reports in, alerts out, nothing lost and nothing sent twice.

Settings (environment variable → config key, default):
  GRIDPATROL_SMS_EXPIRE_AFTER     SMS_EXPIRE_AFTER_SECONDS     21600 (6 h; queued longer → expired)
  GRIDPATROL_SMS_MAX_ATTEMPTS     SMS_MAX_ATTEMPTS             5
  GRIDPATROL_SMS_RETRY_BASE       SMS_RETRY_BASE_SECONDS       30 (doubles per attempt)
  GRIDPATROL_SMS_RETRY_MAX        SMS_RETRY_MAX_SECONDS        1800
  GRIDPATROL_SMS_SENDING_LEASE    SMS_SENDING_LEASE_SECONDS    120 (a `sending` row older than this is reconciled)
  GRIDPATROL_SMS_SWEEP_GRACE      SMS_SWEEP_GRACE_SECONDS      60
  GRIDPATROL_SMS_DUPLICATE_WINDOW SMS_DUPLICATE_WINDOW_SECONDS 600 (same body to same phone → duplicate; 0 = off)
  GRIDPATROL_SMS_RATE_LIMIT       SMS_RATE_LIMIT_PER_HOUR      20 inbound texts per sender per hour
  GRIDPATROL_SMS_PIN_MAX_FAILURES SMS_PIN_MAX_FAILURES         5 wrong PINs lock a member's staff commands …
  GRIDPATROL_SMS_PIN_LOCK_MINUTES SMS_PIN_LOCK_MINUTES         60 … until this window ends (sms/pin.py)
  GRIDPATROL_SMS_INTAKE_AREA      SMS_INTAKE_AREA_CODE         area for resident reports naming no place
  GRIDPATROL_SMS_CATEGORY_THRESHOLD SMS_CATEGORY_THRESHOLD     0.5 (below: 其他, 待分类)
Providers (sms/providers/, docs/sms.md "Providers"):
  GRIDPATROL_SMS_BACKEND          SMS_BACKEND                  console | twilio | android | aliyun
  GRIDPATROL_SMS_ALERTS_BACKEND   SMS_ALERTS_BACKEND           the main backend (alerts go through this one)
  GRIDPATROL_SMS_PROVIDERS        SMS_PROVIDERS                more providers alerts fail over to (comma list)
  GRIDPATROL_SMS_GATEWAY_NUMBER   SMS_GATEWAY_NUMBER           the number devices text (android: its number)
  GRIDPATROL_SMS_ADMIN_PHONES     SMS_ADMIN_PHONES             told once when alerts fail over (else admins)
  GRIDPATROL_SMS_HEARTBEAT_STALE  SMS_HEARTBEAT_STALE_SECONDS  600 (a phone silent longer is down)
  GRIDPATROL_SMS_DOWN_AFTER       SMS_PROVIDER_DOWN_AFTER      3 provider_down errors in a row → down
  GRIDPATROL_SMS_PROVIDER_RETRY   SMS_PROVIDER_RETRY_SECONDS   300 (a down provider is tried again after)
  ANDROID_SMS_URL, ANDROID_SMS_USERNAME, ANDROID_SMS_PASSWORD, ANDROID_SMS_SIGNING_KEY, ANDROID_SMS_PHONE_NUMBER
  ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME, ALIYUN_SMS_TEMPLATES (JSON),
  ALIYUN_SMS_ENDPOINT (default dysmsapi.aliyuncs.com)
See docs/sms.md.
"""
from __future__ import annotations

import os

from core.settings import ConfigError

DEFAULTS = {
    "SMS_EXPIRE_AFTER_SECONDS": ("GRIDPATROL_SMS_EXPIRE_AFTER", 6 * 3600),
    "SMS_MAX_ATTEMPTS": ("GRIDPATROL_SMS_MAX_ATTEMPTS", 5),
    "SMS_RETRY_BASE_SECONDS": ("GRIDPATROL_SMS_RETRY_BASE", 30),
    "SMS_RETRY_MAX_SECONDS": ("GRIDPATROL_SMS_RETRY_MAX", 1800),
    "SMS_SENDING_LEASE_SECONDS": ("GRIDPATROL_SMS_SENDING_LEASE", 120),
    "SMS_SWEEP_GRACE_SECONDS": ("GRIDPATROL_SMS_SWEEP_GRACE", 60),
    "SMS_DUPLICATE_WINDOW_SECONDS": ("GRIDPATROL_SMS_DUPLICATE_WINDOW", 600),
    "SMS_RATE_LIMIT_PER_HOUR": ("GRIDPATROL_SMS_RATE_LIMIT", 20),
    "SMS_PIN_MAX_FAILURES": ("GRIDPATROL_SMS_PIN_MAX_FAILURES", 5),
    "SMS_PIN_LOCK_MINUTES": ("GRIDPATROL_SMS_PIN_LOCK_MINUTES", 60),
    "SMS_HEARTBEAT_STALE_SECONDS": ("GRIDPATROL_SMS_HEARTBEAT_STALE", 600),
    "SMS_PROVIDER_DOWN_AFTER": ("GRIDPATROL_SMS_DOWN_AFTER", 3),
    "SMS_PROVIDER_RETRY_SECONDS": ("GRIDPATROL_SMS_PROVIDER_RETRY", 300),
}
# Provider settings read as plain strings (config key → environment variable).
PROVIDER_SETTINGS = {
    "SMS_ALERTS_BACKEND": "GRIDPATROL_SMS_ALERTS_BACKEND",
    "SMS_PROVIDERS": "GRIDPATROL_SMS_PROVIDERS",
    "SMS_ADMIN_PHONES": "GRIDPATROL_SMS_ADMIN_PHONES",
    "ANDROID_SMS_URL": "ANDROID_SMS_URL",
    "ANDROID_SMS_USERNAME": "ANDROID_SMS_USERNAME",
    "ANDROID_SMS_PASSWORD": "ANDROID_SMS_PASSWORD",
    "ANDROID_SMS_SIGNING_KEY": "ANDROID_SMS_SIGNING_KEY",
    "ANDROID_SMS_PHONE_NUMBER": "ANDROID_SMS_PHONE_NUMBER",
    "ALIYUN_SMS_ACCESS_KEY_ID": "ALIYUN_SMS_ACCESS_KEY_ID",
    "ALIYUN_SMS_ACCESS_KEY_SECRET": "ALIYUN_SMS_ACCESS_KEY_SECRET",
    "ALIYUN_SMS_SIGN_NAME": "ALIYUN_SMS_SIGN_NAME",
    "ALIYUN_SMS_TEMPLATES": "ALIYUN_SMS_TEMPLATES",
    "ALIYUN_SMS_ENDPOINT": "ALIYUN_SMS_ENDPOINT",
}


BARE_ACK_HANDLERS = "gridpatrol.sms.bare_ack_handlers"


def register_bare_ack(app, handler) -> None:
    """A feature that sends alerts asking for a bare 收到 (workers) registers who answers it:
    `handler(session, member, now=, channel="sms")` returns the alerts it acknowledged (each with `key` and
    `area_id`). SMS knows nothing of those features; the first handler that acknowledges something wins."""
    handlers = app.extensions.setdefault(BARE_ACK_HANDLERS, [])
    if handler not in handlers:
        handlers.append(handler)


def warm_up_understanding(background: bool = True) -> None:
    """Load what reading a text needs — jieba's dictionary and the shipped lexicon, the pinyin table, the
    shipped model — on a daemon thread, or (a worker, before it forks) here and now."""
    # local: a feature's parts load when an app is built, not with the package
    from sms.understanding.category import build_lexicon
    from sms.understanding.model import shipped
    from sms.understanding.phonetic import heard_as
    from sms.understanding.segment import warm_up
    warm_up(build_lexicon, heard_as, shipped, background=background)


def init_app(app) -> None:
    """Register the sms tables and fill the sms settings the foundation config does not know,
    environment first."""
    # local: the tables load when an app is built, not with the package (sms.parser and the templates are
    # plain functions a benchmark or the device client may use without a database)
    import sms.models  # noqa: F401  (the sms tables join the one metadata)
    for key, (variable, default) in DEFAULTS.items():
        if key in app.config:
            continue
        raw = os.environ.get(variable)
        try:
            app.config[key] = int(raw) if raw not in (None, "") else default
        except ValueError as exc:
            raise ConfigError(f"{variable} must be a whole number, got {raw!r}") from exc
    app.config.setdefault("SMS_INTAKE_AREA_CODE", os.environ.get("GRIDPATROL_SMS_INTAKE_AREA") or None)
    raw = os.environ.get("GRIDPATROL_SMS_CATEGORY_THRESHOLD")
    try:  # below this confidence a resident's report is filed as 其他 marked 待分类 (sms.understanding)
        app.config.setdefault("SMS_CATEGORY_THRESHOLD", float(raw) if raw not in (None, "") else 0.5)
    except ValueError as exc:
        raise ConfigError(f"GRIDPATROL_SMS_CATEGORY_THRESHOLD must be a number, got {raw!r}") from exc
    warm_up_understanding()  # in the background: the first text need not wait
    for key, variable in PROVIDER_SETTINGS.items():
        app.config.setdefault(key, os.environ.get(variable) or None)
    app.config.setdefault("SMS_GATEWAY_NUMBER", os.environ.get("GRIDPATROL_SMS_GATEWAY_NUMBER") or None)
    if not app.config.get("SMS_GATEWAY_NUMBER"):
        # The number devices text when they have no data: the office phone, else Twilio's number.
        backend = (app.config.get("SMS_BACKEND") or "console").lower()
        app.config["SMS_GATEWAY_NUMBER"] = (app.config.get("ANDROID_SMS_PHONE_NUMBER") if backend == "android"
                                            else app.config.get("TWILIO_FROM_NUMBER") if backend == "twilio"
                                            else None)
    # local: a feature's parts load when an app is built, not with the package
    from sms.providers import check_providers
    check_providers(app)  # a missing or malformed provider setting stops startup, naming the variable
