"""POST /api/v1/sync — one round trip pushes a device's queued changes and pulls what changed for it.
The protocol is in docs/protocol.md; this view only moves bytes and maps database contention to 503."""
from __future__ import annotations

import logging

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.api.common import ErrorSchema
from server.http.auth import device_principal
from server.http.errors import error_response
from core.db import db
from sync.schemas import SyncRequestSchema, SyncResponseSchema
from sync.service import run_sync
from sync.wire import json_response, read_json_body

log = logging.getLogger(__name__)

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync",
                description="Offline-first sync: push queued changes, pull what changed (docs/protocol.md).")


@blp.route("")
class SyncView(MethodView):
    @blp.doc(
        summary="Push a device's changes and pull what changed since its cursor",
        description="Bearer device token. Body may be gzip (Content-Encoding: gzip); the answer is gzip when "
                    "Accept-Encoding allows. Limits: 1000 changes and 2 MB decompressed (413).",
        requestBody={"required": True, "content": {"application/json": {"schema": SyncRequestSchema}}},
        security=[{"bearerAuth": []}])
    @blp.response(200, SyncResponseSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Malformed JSON, bad cursor or unsupported schema_version")
    @blp.alt_response(401, schema=ErrorSchema, description="Missing, unknown or revoked token")
    @blp.alt_response(403, schema=ErrorSchema, description="device_id does not match the token")
    @blp.alt_response(413, schema=ErrorSchema, description="More than 1000 changes or 2 MB")
    @blp.alt_response(422, schema=ErrorSchema, description="Envelope fields invalid (unknown collection, wrong types)")
    @blp.alt_response(503, schema=ErrorSchema,
                      description="Database busy (deadlock or serialization); retry the same request")
    def post(self):
        principal = device_principal()
        body = read_json_body()
        try:
            payload = run_sync(db.session(), principal, body)
        except IntegrityError:
            raise  # a concurrent insert of the same id: the shared 409 handler answers; a retry merges
        except DBAPIError as exc:
            db.session.rollback()
            log.warning("sync hit database contention: %s", type(exc.orig).__name__)
            response = error_response(503, "busy", "The database is busy; retry the same request.",
                                      {"reason": type(exc.orig).__name__})
            response.headers["Retry-After"] = "1"
            return response
        return json_response(payload)
