"""Bearer-token authentication for the HTTP API. Views ask for the principal they need."""
from __future__ import annotations

from flask import current_app, g, request

from core.domain.access import Principal
from core.domain.tokens import find_device, find_staff_token
from core.domain.errors import Forbidden, Unauthorized
from core.db import db
from core.models import utcnow


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("send an Authorization: Bearer <token> header", code="missing_token")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'", code="bad_token")
    return token.strip()


def current_principal() -> Principal:
    """The staff member or device behind this request's token, or 401."""
    if "principal" in g:
        return g.principal
    token = _bearer_token()
    record = find_staff_token(db.session, token)
    if record is not None:
        record.last_used_at = utcnow()
        principal = Principal.for_member(record.member, kind="staff")
    else:
        device = find_device(db.session, token)
        if device is None:
            raise Unauthorized("this token is unknown, expired or revoked", code="bad_token")
        device.last_seen_at = utcnow()
        principal = Principal.for_member(device.member, kind="device", device=device)
    g.principal = principal
    return principal


PUBLIC_ENDPOINTS = {"auth.login"}  # the only foundation API view that takes no token


def authenticate_first() -> None:
    """before_request for every JSON blueprint under /api/v1 (server/api/): the token is checked before webargs
    judges the body or query, so a caller without a valid token gets 401/403-worthy answers, not a 422
    listing the fields it got wrong."""
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if (blueprint is not None and blueprint.import_name.startswith("server.api.")
            and request.path.startswith("/api/v1/")
            and request.endpoint not in PUBLIC_ENDPOINTS and request.method != "OPTIONS"):
        current_principal()


def staff_principal() -> Principal:
    principal = current_principal()
    if principal.kind != "staff":
        raise Forbidden("this endpoint takes a staff token, not a device token", code="wrong_token_kind")
    return principal


def device_principal() -> Principal:
    principal = current_principal()
    if principal.kind != "device":
        raise Forbidden("this endpoint takes a device token", code="wrong_token_kind")
    return principal
