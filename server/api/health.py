"""GET /healthz: is the database (and Redis, when configured) reachable? Public (load balancers, monitors):
it says what is up or down, never where a provider lives or which number it sends from — that detail is
the global admins' (GET /api/v1/workers/health)."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from core.db import db
from server.startup_checks import configuration_warnings, current_warnings

blp = Blueprint("health", __name__, description="Service health")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.Dict()
    redis = fields.Dict()
    jobs = fields.String()
    sms = fields.List(fields.Dict(), metadata={"description": "each SMS provider: up (or why down), last heartbeat, "
                                                              "queue depth"})
    warnings = fields.List(fields.String())


@blp.route("/healthz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema)
def healthz():
    report = {"status": "ok", "jobs": current_app.extensions["gridpatrol.runner"].name}
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # report, don't raise: this endpoint exists to say what is down
        report["database"] = {"ok": False, "error": type(exc).__name__}
        report["status"] = "degraded"
    if current_app.config.get("REDIS_URL"):
        try:
            # local: Redis is optional (without REDIS_URL jobs run in-process)
            from redis import Redis
            Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping()
            report["redis"] = {"ok": True}
        except Exception as exc:
            report["redis"] = {"ok": False, "error": type(exc).__name__}
            report["status"] = "degraded"
    else:
        report["redis"] = {"ok": None, "configured": False}
    if report["database"]["ok"]:
        try:
            # local, inside the try: the SMS view must not take health down
            from sms.routing import provider_states
            report["sms"] = provider_states(db.session, current_app._get_current_object(), details=False)
        except Exception as exc:  # noqa: BLE001 - the SMS view must not take health down with it
            db.session.rollback()
            report["sms"] = [{"error": type(exc).__name__}]
    report["warnings"] = (current_warnings(current_app, db.session) if report["database"]["ok"]
                          else configuration_warnings(current_app))
    return report, (200 if report["status"] == "ok" else 503)
