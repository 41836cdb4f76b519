"""HTTP adapters of the patrol app: the shell under /app/ and its small JSON API under /app/api/.

The shell version is a hash of every shipped asset (plus PATROL_APP_BUILD, an operator's salt): the
service worker embeds it, so a deploy with changed assets changes the worker's bytes, the browser installs
the new worker, and it swaps the cached shell. The outbox lives in IndexedDB, which no shell update
touches.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

from server.http.auth import device_principal
from core.domain import incidents as rules
from core.domain.access import can_act_on_incident
from core.domain.pairing import redeem_pairing_code
from core.domain.errors import BadRequest, Invalid, NotFound
from core.db import db
from core.models import Incident

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
SERVICE_WORKER = "sw.js"  # served as /app/sw.js (scope /app/), with the version and the shell list prepended


def _shell_files() -> list[str]:
    """Every file under static/ but the worker, as paths relative to it: a new module is in the shell (cached
    for offline use, preloaded by the page) the moment it is added, with no second list to forget."""
    files = (path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*")
             if path.is_file() and not path.name.startswith("."))
    return sorted(name for name in files if name != SERVICE_WORKER)


SHELL_MODULES = _shell_files()

bp = Blueprint("patrol_app", __name__, url_prefix="/app", static_folder="static", static_url_path="/static",
               template_folder="templates")


COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json", "image/svg+xml")


@bp.after_request
def _gzip(response: Response) -> Response:
    """The shell is first loaded over 2G: text assets go gzip (about a third of their size) when asked."""
    if (response.status_code != 200 or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding") or not response.mimetype.startswith(COMPRESSIBLE)):
        return response
    response.direct_passthrough = False
    data = response.get_data()
    if len(data) < 512:
        return response
    response.set_data(_compress(data))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag:
        response.set_etag(etag, weak=True)  # same content, another encoding; still matches If-None-Match
    return response


@lru_cache(maxsize=64)
def _compress(data: bytes) -> bytes:
    return gzip.compress(data, 9, mtime=0)


@lru_cache(maxsize=1)
def _asset_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(list(STATIC.rglob("*")) + list(TEMPLATES.rglob("*"))):
        if path.is_file():
            digest.update(path.relative_to(STATIC.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def shell_version() -> str:
    salt = str(current_app.config.get("PATROL_APP_BUILD", ""))
    return hashlib.sha256((_asset_hash() + salt).encode()).hexdigest()[:12]


def shell_urls() -> list[str]:
    return ["/app/", "/app/manifest.webmanifest"] + [f"/app/static/{name}" for name in SHELL_MODULES]


@bp.get("/")
@bp.get("/pair")
def index():
    modules = [name for name in SHELL_MODULES if name.endswith(".js") and name != "app.js"]
    html = render_template("patrol_app.html", version=shell_version(), preload=modules)
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-cache"})


@bp.get("/sw.js")
def service_worker():
    source = (STATIC / SERVICE_WORKER).read_text(encoding="utf-8")
    head = f"const VERSION = {json.dumps(shell_version())};\nconst SHELL = {json.dumps(shell_urls())};\n"
    return Response(head + source, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/app/"})


@bp.get("/manifest.webmanifest")
def manifest():
    body = {"name": "网格巡查", "short_name": "网格巡查",
            "description": "网格员巡查、上报问题与同步（离线可用，短信兜底）",
            "lang": "zh-Hans", "start_url": "/app/#/today", "scope": "/app/", "display": "standalone",
            "orientation": "portrait", "background_color": "#ffffff", "theme_color": "#0b4f2f",
            "icons": [{"src": "/app/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
                      {"src": "/app/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
                      {"src": "/app/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}]}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object", code="invalid_json")
    return body


def settings_payload() -> dict:
    config = current_app.config
    return {"sms_gateway_number": config.get("SMS_GATEWAY_NUMBER") or None,
            "sms_fallback_minutes": config.get("PATROL_APP_SMS_FALLBACK_MINUTES", 30),
            "shell_version": shell_version()}


@bp.post("/api/pair")
def pair():
    """Exchange a one-time pairing code for a device token (shown once, kept on the phone). Wrong codes are
    limited per client address in the database (core.domain.pairing); behind a reverse proxy the address
    is the one GRIDPATROL_TRUSTED_PROXIES lets through."""
    body = _json_object()
    code, name = body.get("code"), body.get("device_name", "")
    if not isinstance(code, str) or not code.strip() or len(code) > 200:
        raise Invalid("send the pairing code", details={"code": ["Missing or not a string."]})
    if not isinstance(name, str) or len(name) > 100:
        raise Invalid("device name too long", details={"device_name": ["At most 100 characters."]})
    device, token = redeem_pairing_code(db.session, code, device_name=name.strip(),
                                        client=request.remote_addr or "?")
    member = device.member
    payload = {"device_id": device.id, "token": token,
               "member": {"id": member.id, "name": member.name, "locale": member.locale},
               **settings_payload()}
    db.session.commit()
    return Response(json.dumps(payload, ensure_ascii=False), status=201, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


@bp.get("/api/settings")
def settings():
    """What the server publishes to devices: the SMS gateway number and the fallback wait."""
    principal = device_principal()
    member = principal.member
    payload = {"member": {"id": member.id, "name": member.name, "locale": member.locale}, **settings_payload()}
    db.session.commit()  # last_seen_at
    return Response(json.dumps(payload, ensure_ascii=False), mimetype="application/json")


ACTIONS = {"escalate", "acknowledge"}


@bp.post("/api/incidents/<string:incident_id>/<string:action>")
def incident_action(incident_id: str, action: str):
    """上报 and 收到 are server-side actions (a new responsible area and deadline), so they go online."""
    principal = device_principal()
    if action not in ACTIONS:
        raise NotFound(f"unknown action {action!r}", details={"actions": sorted(ACTIONS)})
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object", code="invalid_json")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 1000:
        raise Invalid("note must be text", details={"note": ["At most 1000 characters of text."]})
    incident = db.session.get(Incident, incident_id) if len(incident_id) <= 36 else None
    if incident is None or incident.deleted_at is not None:
        raise NotFound("no such problem", details={"id": incident_id})
    can_act_on_incident(principal, incident, action)
    if action == "escalate":
        rules.escalate(db.session, incident, channel="device", actor=principal.member, reason=note,
                       policy=current_app.config.get("DEADLINE_POLICY"),
                       default_tz=current_app.config["GRIDPATROL_TIMEZONE"])
    else:
        rules.acknowledge(db.session, incident, channel="device", actor=principal.member, note=note)
    db.session.commit()
    return Response(json.dumps({"id": incident.id, "status": incident.status,
                                "responsible_area_id": incident.responsible_area_id}),
                    mimetype="application/json")
