"""The RQ console: the rq-dashboard package (queues, jobs, failures) mounted at /admin/rq behind a global admin's
token, only when REDIS_URL is set (it shows RQ) and WORKERS_RQ_DASHBOARD is on. Not to be confused with the
leaders' dashboard (web/dashboard/, /dashboard/): this is an operator's window on the job queues.

rq-dashboard has no authentication of its own. A browser cannot send a Bearer header, so the check
also takes HTTP Basic with the staff token as the password (any user name): the browser prompts once.
Only a global admin gets in.
"""
from __future__ import annotations

import base64
from urllib.parse import urlsplit
import logging

from flask import request
from core.domain.access import Principal
from core.domain.tokens import find_staff_token
from server.http.errors import error_response
from core.db import db
from core import settings

RQ_CONSOLE_PREFIX = "/admin/rq"


def _token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def _challenge(status: int, message: str):
    response = error_response(status, "unauthorized" if status == 401 else "forbidden", message)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="gridpatrol rq-dashboard"'
    return response


def init_rq_console(app) -> None:
    if not app.config.get("REDIS_URL") or not settings.get("WORKERS_RQ_DASHBOARD", app):
        return
    try:
        import rq_dashboard
        from rq_dashboard.web import setup_rq_connection
    except ImportError as exc:  # optional: `pip install 'gridpatrol[dashboard]'`
        logging.getLogger(__name__).info("RQ dashboard off: %s (install the `dashboard` extra)", exc)
        return

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_CONSOLE_PREFIX)

    @app.before_request
    def _admin_only():
        if request.blueprint != "rq_dashboard":
            return None
        token = _token_from_request()
        record = find_staff_token(db.session, token) if token else None
        if record is None:
            return _challenge(401, "the RQ console needs an admin's staff token (Bearer, or Basic password)")
        if not Principal.for_member(record.member).is_global_admin:
            return _challenge(403, "only an admin may open the RQ console")
        if not _same_origin():
            return _challenge(403, "a change to the queues must come from this site's own pages (Origin check)")
        return None


def _same_origin() -> bool:
    """Cross-site request forgery guard: the browser caches Basic credentials and would send them with a
    form posted from any other site, so a state-changing request carrying Basic auth must show an Origin
    (or Referer) of this very host. Bearer tokens are never sent by a browser on its own; they pass."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return parts.netloc == request.host and parts.scheme in ("http", "https")
