"""The permission table at the HTTP door: which row of core.domain.access judges each HTTP operation, and
the before_request hook that applies it.

`ENDPOINTS` names the table row of every HTTP operation; tests/security/test_permission_table.py walks the
OpenAPI document and fails when an operation has no row. `authorize_request` turns away a token that holds
none of a write row's roles anywhere before the view runs; the view then judges the area (`require`) and
filters reads (`readable_scope`).
"""
from __future__ import annotations

import logging
import re

from flask import request

from core.domain.access import PUBLIC, holds_any, rule
from core.domain.errors import Forbidden
from server.http.auth import current_principal

_log = logging.getLogger(__name__)

# Every HTTP operation -> its table row. Paths use OpenAPI's {param} form.
_V = "/api/v1"
ENDPOINTS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/healthz"): ("health", "read"),
    ("GET", f"{_V}/areas"): ("areas", "read"), ("POST", f"{_V}/areas"): ("areas", "create"),
    ("GET", f"{_V}/areas/{{area_id}}"): ("areas", "read"), ("PATCH", f"{_V}/areas/{{area_id}}"): ("areas", "update"),
    ("DELETE", f"{_V}/areas/{{area_id}}"): ("areas", "delete"),
    ("GET", f"{_V}/areas/{{area_id}}/leaders"): ("members", "read"),
    ("GET", f"{_V}/areas/{{area_id}}/schedule"): ("schedules", "read"),
    ("GET", f"{_V}/members"): ("members", "read"), ("POST", f"{_V}/members"): ("members", "create"),
    ("GET", f"{_V}/members/{{member_id}}"): ("members", "read"),
    ("PATCH", f"{_V}/members/{{member_id}}"): ("members", "update"),
    ("DELETE", f"{_V}/members/{{member_id}}"): ("members", "delete"),
    ("PUT", f"{_V}/members/{{member_id}}/password"): ("credentials", "create"),
    ("POST", f"{_V}/auth/login"): ("credentials", "login"),
    ("POST", f"{_V}/auth/tokens"): ("credentials", "create"), ("GET", f"{_V}/auth/tokens"): ("credentials", "read"),
    ("DELETE", f"{_V}/auth/tokens/{{token_id}}"): ("credentials", "delete"),
    ("GET", f"{_V}/auth/me"): ("credentials", "read"),
    ("POST", f"{_V}/roster/import"): ("roster", "import"),
    ("GET", f"{_V}/categories"): ("categories", "read"), ("POST", f"{_V}/categories"): ("categories", "create"),
    ("GET", f"{_V}/categories/{{category_id}}"): ("categories", "read"),
    ("PATCH", f"{_V}/categories/{{category_id}}"): ("categories", "update"),
    ("DELETE", f"{_V}/categories/{{category_id}}"): ("categories", "delete"),
    ("POST", f"{_V}/devices"): ("devices", "create"), ("GET", f"{_V}/devices"): ("devices", "read"),
    ("GET", f"{_V}/devices/{{device_id}}"): ("devices", "read"),
    ("DELETE", f"{_V}/devices/{{device_id}}"): ("devices", "delete"),
    ("GET", f"{_V}/sites"): ("sites", "read"), ("POST", f"{_V}/sites"): ("sites", "create"),
    ("GET", f"{_V}/sites/{{site_id}}"): ("sites", "read"), ("PATCH", f"{_V}/sites/{{site_id}}"): ("sites", "update"),
    ("DELETE", f"{_V}/sites/{{site_id}}"): ("sites", "delete"),
    ("POST", f"{_V}/sites/{{site_id}}/inspections"): ("sites", "inspect"),
    ("GET", f"{_V}/sites/{{site_id}}/inspections"): ("sites", "read"),
    ("GET", f"{_V}/patrols"): ("patrols", "read"), ("POST", f"{_V}/patrols"): ("patrols", "create"),
    ("GET", f"{_V}/patrols/{{patrol_id}}"): ("patrols", "read"),
    ("GET", f"{_V}/audit"): ("audit", "read"),
    ("GET", f"{_V}/incidents"): ("incidents", "read"), ("POST", f"{_V}/incidents"): ("incidents", "create"),
    ("GET", f"{_V}/incidents/{{ref}}"): ("incidents", "read"),
    ("PATCH", f"{_V}/incidents/{{ref}}"): ("incidents", "update"),
    **{("POST", f"{_V}/incidents/{{ref}}/{action}"): ("incidents", action)
       for action in ("handle", "escalate", "acknowledge", "close", "reopen", "reject", "note", "reassign")},
    ("GET", f"{_V}/schedules"): ("schedules", "read"), ("POST", f"{_V}/schedules"): ("schedules", "create"),
    ("GET", f"{_V}/schedules/effective"): ("schedules", "read"),
    ("GET", f"{_V}/schedules/{{schedule_id}}"): ("schedules", "read"),
    ("PATCH", f"{_V}/schedules/{{schedule_id}}"): ("schedules", "update"),
    ("DELETE", f"{_V}/schedules/{{schedule_id}}"): ("schedules", "delete"),
    ("POST", f"{_V}/sync"): ("sync", "sync"),
    ("GET", f"{_V}/messages"): ("messages", "read"),
    ("POST", "/sms/twilio/inbound"): ("sms", "receive"), ("POST", "/sms/twilio/status"): ("sms", "receive"),
    ("POST", "/sms/android/webhook"): ("sms", "receive"),
    ("GET", f"{_V}/triage"): ("incidents", "read"),  # 待分类: residents' reports no cue could place
    ("POST", f"{_V}/triage/{{ref}}"): ("incidents", "update"),
    ("GET", f"{_V}/lexicon/words"): ("lexicon", "read"),
    ("DELETE", f"{_V}/lexicon/words/{{word_id}}"): ("lexicon", "delete"),
    ("GET", f"{_V}/workers/health"): ("worker_health", "read"),
    ("GET", f"{_V}/workers/alerts"): ("alerts", "read"),
    ("POST", f"{_V}/workers/alerts/{{alert_id}}/acknowledge"): ("alerts", "acknowledge"),
    ("POST", f"{_V}/workers/alerts/acknowledge"): ("alerts", "acknowledge"),
    ("GET", f"{_V}/workers/windows"): ("windows", "read"),
    ("GET", f"{_V}/reports/weekly"): ("reports", "read"), ("POST", f"{_V}/reports/weekly"): ("reports", "create"),
    ("GET", f"{_V}/reports/weekly/{{report_id}}"): ("reports", "read"),
    ("GET", f"{_V}/reports/weekly/{{report_id}}.csv"): ("reports", "export"),
    ("GET", f"{_V}/reports/weekly/{{report_id}}.xlsx"): ("reports", "export"),
}
_ENDPOINT_PATTERNS = [(method, re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"), row)
                      for (method, path), row in ENDPOINTS.items()]


def endpoint_rule(method: str, path: str) -> tuple[str, str] | None:
    """The (collection, action) an HTTP operation is judged by; `path` may be concrete or templated."""
    method = method.upper()
    if (method, path) in ENDPOINTS:
        return ENDPOINTS[(method, path)]
    for m, pattern, row in _ENDPOINT_PATTERNS:
        if m == method and pattern.match(path):
            return row
    return None


def authorize_request() -> None:
    """before_request: a token holding none of the operation's roles anywhere is refused (403) before the
    view runs; the view judges the area and filters reads."""
    if request.method in ("OPTIONS", "HEAD") or not request.path.startswith("/api/v1/") or request.endpoint is None:
        return
    if request.url_rule is None:
        return
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", request.url_rule.rule)
    row = endpoint_rule(request.method, path)
    if row is None:
        # A new operation without a row: its view's own checks still apply, and
        # tests/security/test_permission_table.py fails until the row is added to ENDPOINTS.
        _log.warning("operation %s %s has no row in the permission table", request.method, path)
        return
    if rule(*row).scope == PUBLIC or row[1] == "read":
        return  # reads are filtered to readable_scope by the view: a reader of nothing gets an empty page
    principal = current_principal()
    if not holds_any(principal, *row):
        allowed = sorted(rule(*row).roles)
        raise Forbidden(f"your roles may not {row[1]} {row[0]}", code="role_not_permitted",
                        details={"collection": row[0], "action": row[1], "roles_allowed": allowed})
