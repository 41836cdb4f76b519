"""Site-wide bits that belong to no one page family: the favicon browsers ask every origin for (a 404 there
is a console error on every page, in the field and in the browser tests), and the security headers every
answer carries.

The headers, one rule for the whole site:
- every answer: `X-Content-Type-Options: nosniff` (a browser never reads a JSON body or an upload as a
  script), `X-Frame-Options: DENY` (no page inside another site's frame: clickjacking) and
  `Referrer-Policy: same-origin` (a pairing link's code never travels to another site in a Referer);
- the leaders' dashboard and the patrol app (HTML, scripts, styles): a Content-Security-Policy that lets
  them load only what this server ships — no inline script or style, no eval, nothing from another host —
  and that no one may frame (`frame-ancestors 'none'`). The pages hold to it: scripts are ES modules from
  static/, styles are classes in the stylesheets, charts and QR codes are SVG with presentation attributes,
  and the browser tests fail on any console error, which is how a CSP violation shows;
- the JSON API: `default-src 'none'` (a JSON answer opened in a browser runs and loads nothing).
The RQ dashboard (a library's pages, global admins only) keeps the first three headers only.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request, send_file

ICON = Path(__file__).parent / "patrol_app" / "static" / "icon-192.png"

bp = Blueprint("site", __name__)

EVERY_ANSWER = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
PAGE_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "manifest-src 'self'", "worker-src 'self'", "form-action 'self'", "base-uri 'none'",
    "object-src 'none'", "frame-ancestors 'none'",
])
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
POLICIES = (("/dashboard", PAGE_POLICY), ("/app", PAGE_POLICY), ("/favicon.ico", PAGE_POLICY),
            ("/api/", API_POLICY))


def content_security_policy(path: str) -> str | None:
    return next((policy for prefix, policy in POLICIES if path.startswith(prefix)), None)


@bp.after_app_request
def security_headers(response: Response) -> Response:
    for name, value in EVERY_ANSWER.items():
        response.headers.setdefault(name, value)
    policy = content_security_policy(request.path)
    if policy:
        response.headers.setdefault("Content-Security-Policy", policy)
    return response


@bp.get("/favicon.ico")
def favicon():
    return send_file(ICON, mimetype="image/png", max_age=86400)
