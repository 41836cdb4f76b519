"""Configuration from the environment, with embedded defaults that run on one box.

Every setting has a safe default for the embedded mode (SQLite, console SMS, in-process jobs) so that
`gridpatrol serve --demo` works on a fresh machine. Production mode (GRIDPATROL_ENV=production) refuses to
start while a secret is missing, and the error names the variable to set.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from core.settings import DEFAULT_TIMEZONE, ConfigError


def _env(name: str, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def _int_env(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def normalize_database_url(url: str) -> str:
    """SQLAlchemy 2 needs a driver name; operators paste plain postgresql:// URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def default_instance_path() -> Path:
    return Path(_env("GRIDPATROL_INSTANCE", str(Path.cwd() / "instance")))


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config dict: environment first, then explicit overrides (tests, CLI)."""
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or default_instance_path())
    env = overrides.get("GRIDPATROL_ENV") or _env("GRIDPATROL_ENV", "development")
    database_url = (overrides.pop("DATABASE_URL", None) or _env("DATABASE_URL")
                    or f"sqlite:///{instance / 'gridpatrol.db'}")
    cfg = {
        "GRIDPATROL_ENV": env,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        # hide_parameters: an error never prints a statement's values (residents' phones, SMS bodies).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "REDIS_URL": _env("REDIS_URL"),
        "SECRET_KEY": _env("GRIDPATROL_SECRET_KEY"),
        "GRIDPATROL_TIMEZONE": _env("GRIDPATROL_TIMEZONE", DEFAULT_TIMEZONE),
        "GRIDPATROL_PHONE_REGION": _env("GRIDPATROL_PHONE_REGION", "CN"),
        "GRIDPATROL_LOCALE": _env("GRIDPATROL_LOCALE", "zh"),
        "LOG_LEVEL": _env("GRIDPATROL_LOG_LEVEL", "INFO").upper(),
        # Request bodies: 2 MB is the sync limit (decompressed); the raw limit is the same.
        "MAX_CONTENT_LENGTH": _int_env("GRIDPATROL_MAX_BODY_BYTES", 2 * 1024 * 1024),
        "PUBLIC_BASE_URL": _env("GRIDPATROL_PUBLIC_BASE_URL"),
        "SMS_BACKEND": _env("GRIDPATROL_SMS_BACKEND", "console"),
        "TWILIO_ACCOUNT_SID": _env("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": _env("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM_NUMBER": _env("TWILIO_FROM_NUMBER"),
        "TWILIO_MESSAGING_SERVICE_SID": _env("TWILIO_MESSAGING_SERVICE_SID"),
        "TWILIO_API_BASE_URL": _env("TWILIO_API_BASE_URL"),
        "DEADLINE_POLICY": json.loads(_env("GRIDPATROL_DEADLINE_POLICY", "{}")),
        "DEFAULT_PAGE_SIZE": 50,
        "MAX_PAGE_SIZE": 500,
        "API_TITLE": "gridpatrol",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_AS_ASCII": False,
        "API_SPEC_OPTIONS": {
            "components": {"securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A staff token (gps_…) from POST /api/v1/auth/login or an admin; "
                               "device tokens (gpd_…) only for the device sync endpoints."}}},
            "security": [{"bearerAuth": []}],
        },
        "STAFF_TOKEN_TTL_DAYS": _int_env("GRIDPATROL_STAFF_TOKEN_TTL_DAYS", 30),
        # Patrol app: the number phones text when they have no data (published to devices), and
        # how long a record waits unsynced before the app offers to send it by SMS.
        "SMS_GATEWAY_NUMBER": _env("GRIDPATROL_SMS_GATEWAY_NUMBER"),
        "PATROL_APP_SMS_FALLBACK_MINUTES": _int_env("GRIDPATROL_APP_SMS_FALLBACK_MINUTES", 30),
        "MAX_PROMISE_DAYS": _int_env("GRIDPATROL_MAX_PROMISE_DAYS", 30),  # a 承诺 promise is at most N days
        # A roster checked on the dashboard is kept (0600) this long for its commit, then deleted.
        "ROSTER_UPLOAD_TTL_MINUTES": _int_env("GRIDPATROL_ROSTER_UPLOAD_TTL_MINUTES", 60),
        # The dashboard's session cookie: not readable by scripts, not sent on cross-site posts, https only
        # in production (behind TLS).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        # Reverse proxies in front of the service that append to X-Forwarded-For/-Proto (nginx: 1). 0 (the
        # default) trusts no header: the client is the TCP peer. Per-client limits (wrong pairing codes) key
        # on the address this lets through, so behind a proxy set it, or every client shares one address.
        "TRUSTED_PROXIES": _int_env("GRIDPATROL_TRUSTED_PROXIES", 0),
        # In-process runner: delayed jobs (enqueue_in/enqueue_at) on timer threads; tests turn it off.
        "JOBS_INPROCESS_TIMERS": True,
    }
    cfg.update(overrides)
    cfg["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(cfg["SQLALCHEMY_DATABASE_URI"])
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}, "hide_parameters": True}
    if not 0 <= int(cfg["TRUSTED_PROXIES"]) <= 10:
        raise ConfigError("GRIDPATROL_TRUSTED_PROXIES must be the number of proxies in front (0 to 10)")
    _check_secrets(cfg)
    return cfg


def _check_secrets(cfg: dict) -> None:
    if cfg["GRIDPATROL_ENV"] != "production":
        if not cfg.get("SECRET_KEY"):
            cfg["SECRET_KEY"] = "embedded-development-only"
        return
    required = ["GRIDPATROL_SECRET_KEY:SECRET_KEY", "DATABASE_URL:SQLALCHEMY_DATABASE_URI"]
    if cfg["SMS_BACKEND"] == "twilio":
        required += ["TWILIO_ACCOUNT_SID:TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN:TWILIO_AUTH_TOKEN",
                     "GRIDPATROL_PUBLIC_BASE_URL:PUBLIC_BASE_URL"]
    for pair in required:
        variable, key = pair.split(":")
        if not cfg.get(key) or (key == "SQLALCHEMY_DATABASE_URI" and not _env("DATABASE_URL")
                                and "DATABASE_URL" not in os.environ and cfg[key].startswith("sqlite")):
            raise ConfigError(f"production mode needs {variable} to be set")
    twilio_sender = cfg.get("TWILIO_FROM_NUMBER") or cfg.get("TWILIO_MESSAGING_SERVICE_SID")
    if cfg["SMS_BACKEND"] == "twilio" and not twilio_sender:
        raise ConfigError("production mode with Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
