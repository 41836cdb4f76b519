"""One JSON error shape for the whole product, mapped in one place.

Every error leaves as {"error": code, "message": text, "details": {...}}. Domain functions raise the
`DomainError` subclasses of `core.domain.errors` without knowing about HTTP; `register_error_handlers` turns them, and
Werkzeug's, marshmallow's and SQLAlchemy's errors, into that shape. A 500 still answers in the shape,
but any 500 is a bug: tests assert it never happens for bad input.
"""
from __future__ import annotations

import logging
import re

from flask import Flask, jsonify
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.db import db

log = logging.getLogger(__name__)


from core.domain.errors import (  # noqa: F401,E402 (re-exported: the one mapping below needs them)
    BadRequest, Conflict, DomainError, Forbidden, IllegalTransition, Invalid, NotFound, PayloadTooLarge,
    Unauthorized)


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


# ---------------------------------------------------------------- a dependency blinked (issue 9)
RETRY_AFTER_SECONDS = 5


def is_unavailable(exc: BaseException) -> bool:
    """Errors that mean "the database or Redis is not answering right now", not "this request is bad":
    a lost or refused connection, an admin shutdown, a full pool, a serialization failure or deadlock.
    The client should retry (503 + Retry-After); nothing it sent is wrong."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
        if isinstance(exc, (RedisConnectionError, RedisTimeout)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return False


def describe_unavailable(exc: BaseException) -> str:
    """One line naming the failure, never the statement's parameters (phones, SMS bodies)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first}"


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


PHONE_IN_TEXT = None


def mask_phones_in(text: str) -> str:
    """+8613812345678 / 13812345678 → +86138****5678 / 138****5678 in any text."""
    global PHONE_IN_TEXT
    if PHONE_IN_TEXT is None:
        PHONE_IN_TEXT = re.compile(r"(?<![\w.])(\+?\d{3})\d{4,8}(\d{4})(?!\d)")
    return PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def install_log_masking() -> None:
    """Every log record, whoever logs it (our code, SQLAlchemy, gunicorn, RQ) and whichever handler takes it,
    has phone numbers masked: a record factory formats the message once and masks it. Residents' phone
    numbers are private (brief: "phones masked in logs"). Installed once per process."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "gridpatrol_masking", False):
        return

    def masking_factory(*args, **kwargs):
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logger's problem, not ours
            return record
        masked = mask_phones_in(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_phones_in(logging.Formatter().formatException(record.exc_info))
        return record

    masking_factory.gridpatrol_masking = True
    logging.setLogRecordFactory(masking_factory)
