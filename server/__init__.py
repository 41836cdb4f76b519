"""gridpatrol's application, the top layer: `create_app`, configuration, every command and HTTP adapter.

`create_app` is the only way an app is built: by the dev server, gunicorn (`server:create_app()`),
the CLI, RQ workers and tests. It assembles the foundation (core), the features (sync, sms), the
workers' runtime and the pages (web); docs/architecture.md draws the layers.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from server.config import load_config

# Imports inside create_app and its helpers are deliberate: this is the composition root, and
# `import server` (which every server.* import runs first) must not load Flask, the features or the API.

if TYPE_CHECKING:  # Flask loads with the app, not with every `core.domain` import
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    from flask import Flask
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(config))
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False
    _trust_proxies(app)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    from core.domain.phones import install_log_masking
    install_log_masking()

    from server.http.errors import ErrorSchema, register_error_handlers
    from core.db import db, forget_pools_after_fork
    from server.http.openapi import api
    api.ERROR_SCHEMA = ErrorSchema  # errors documented in our one shape

    import core.models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    forget_pools_after_fork(app)
    api.init_app(app)
    register_error_handlers(app)  # after Api so our shape wins over flask-smorest's
    from server.http.auth import authenticate_first
    app.before_request(authenticate_first)
    from server.http.access import authorize_request
    app.before_request(authorize_request)  # the permission table's coarse gate (server/http/access.py)
    _register_blueprints(app, api)

    from core.jobs.runner import init_runner
    init_runner(app)
    _init_features(app)
    from server.rq_console import init_rq_console
    init_rq_console(app)
    from server.startup_checks import warn_at_startup
    warn_at_startup(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            _sqlite_pragmas(db.engine)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind GRIDPATROL_TRUSTED_PROXIES reverse proxies, the client's address and scheme are the ones they
    forwarded (werkzeug's ProxyFix takes that many hops from the right, so a client cannot forge its way
    past them); with 0 no forwarded header is believed."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _register_blueprints(app: Flask, api) -> None:
    """One blueprint per feature. Each module exposes `blp` (flask-smorest, documented in OpenAPI)
    or `bp` (plain Flask, e.g. Twilio's form-encoded webhooks)."""
    from importlib import import_module

    for module_name in FEATURE_BLUEPRINTS:
        module = import_module(module_name)
        if hasattr(module, "blp"):
            api.register_blueprint(module.blp)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)


def import_feature_models() -> None:
    """Load every feature's tables onto the one metadata (Alembic's env, `create_all` outside an app).
    Features import their own models from `init_app`; this is for code that has no app yet."""
    from importlib import import_module
    from importlib.util import find_spec

    import core.models  # noqa: F401
    for package in FEATURE_PACKAGES:
        if find_spec(f"{package}.models") is not None:
            import_module(f"{package}.models")


def _init_features(app: Flask) -> None:
    """Each feature package may define `init_app(app)` (session hooks, backends, timers)."""
    from importlib import import_module

    for package in FEATURE_PACKAGES:
        module = import_module(package)
        if hasattr(module, "init_app"):
            module.init_app(app)


FEATURE_PACKAGES = ["sync", "sms", "workers", "web.dashboard"]

FEATURE_BLUEPRINTS = [
    "server.api.health",
    "server.api.auth",
    "server.api.areas",
    "server.api.members",
    "server.api.devices",
    "server.api.schedules",
    "server.api.categories",
    "server.api.sites",
    "server.api.patrols",
    "server.api.incidents",
    "server.api.roster",
    "server.api.audit",
    "server.api.sync",
    "server.api.messages",
    "server.webhooks.twilio",
    "server.webhooks.android",
    "server.api.workers",
    "server.api.reports",
    "server.api.triage",
    "server.api.lexicon",
    "web.patrol_app.views",
    "web.site",
    *[f"web.dashboard.{page}" for page in ("auth_pages", "overview", "problems", "patrols", "reports", "ledger",
                                           "people", "schedules", "messages", "triage")],
]


def _sqlite_pragmas(engine) -> None:
    """WAL lets readers (pulls, the dashboard) run while a writer commits; foreign keys on."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
