"""One JSON error shape for the whole product, mapped in one place.

Every error leaves as {"error": code, "message": text, "details": {...}}. Domain functions raise the
`DomainError` subclasses of `core.domain.errors` without knowing about HTTP; `register_error_handlers` turns them, and
Werkzeug's, marshmallow's and SQLAlchemy's errors, into that shape. A 500 still answers in the shape,
but any 500 is a bug: tests assert it never happens for bad input.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.db import db
from core.outages import describe_unavailable, is_unavailable

from core.domain.errors import DomainError

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    """The one error shape, for the OpenAPI document."""
    error = fields.String(required=True, metadata={"description": "machine-readable code"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": code, "message": message, "details": details or {}})
    response.status_code = status
    return response


def _from_http_exception(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    code = HTTP_CODES.get(status, "http_error")
    message = exc.description or exc.name
    details: dict = {}
    if messages:
        # webargs nests messages by location: {"json": {"field": ["..."]}}
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in (
                "json", "query", "form", "files", "headers", "view_args"):
            location, inner = next(iter(messages.items()))
            details = inner if isinstance(inner, dict) else {"_schema": inner}
            if location == "json" and inner in (["Invalid JSON body."], {"_schema": ["Invalid JSON body."]}):
                return error_response(400, "invalid_json", "The request body is not valid JSON.", {})
        else:
            details = messages if isinstance(messages, dict) else {"_schema": messages}
        if status == 422:
            message = "Some fields are not valid; see details."
    if status == 413:
        message = "The request body is larger than this server accepts."
    return error_response(status, code, message, details)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ValidationError)
    def _marshmallow(exc: ValidationError):
        db.session.rollback()
        details = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return error_response(422, "validation_failed", "Some fields are not valid; see details.", details)

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        db.session.rollback()
        log.info("integrity error: %s", exc.orig)
        return error_response(409, "conflict", "This would duplicate or break a reference to an existing record.",
                              {"reason": type(exc.orig).__name__})

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    @app.errorhandler(UnicodeEncodeError)
    def _unstorable(exc: Exception):
        """A value the database cannot hold (out-of-range number, NUL byte) that validation let through."""
        db.session.rollback()
        log.warning("unstorable value reached the database: %s", getattr(exc, "orig", exc))
        return error_response(422, "invalid_value", "A value is out of range or not storable.",
                              {"reason": type(getattr(exc, "orig", exc)).__name__})

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):
        """JSON nested thousands of levels deep ([[[[…) exhausts the parser's recursion: a bad request."""
        db.session.rollback()
        return error_response(400, "invalid_json", "The request body is nested too deeply.",
                              {"reason": "RecursionError"})
    register_unavailable_handlers(app)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _from_http_exception(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")


RETRY_AFTER_SECONDS = 5


def unavailable_response(exc: BaseException):
    response = error_response(503, "unavailable", "A service this request needs is not answering; retry shortly.",
                              {"reason": type(getattr(exc, "orig", None) or exc).__name__})
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_unavailable_handlers(app: Flask) -> None:
    def _unavailable(exc: Exception):
        if not is_unavailable(exc):
            return _unexpected_500(exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool drops it
            pass
        log.warning("dependency unavailable, answered 503: %s", describe_unavailable(exc))
        return unavailable_response(exc)

    app.register_error_handler(DBAPIError, _unavailable)
    app.register_error_handler(PoolTimeout, _unavailable)
    try:
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
        app.register_error_handler(RedisConnectionError, _unavailable)
        app.register_error_handler(RedisTimeout, _unavailable)
    except ImportError:  # pragma: no cover
        pass


def _unexpected_500(exc: Exception):
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        pass
    log.error("unhandled database error: %s", describe_unavailable(exc))
    return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")
