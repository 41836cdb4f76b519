"""Domain errors: what a rule says when it refuses, with no Flask, no HTTP machinery.

Domain functions (and sync, SMS, workers) raise these; `server.http.errors` maps them to the one JSON error
shape for HTTP, the SMS commands to a reply. `status` is the HTTP status the mapping uses (a plain number).
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or {}
        if status is not None:
            self.status = status


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class Invalid(DomainError):
    """Field-by-field validation failure; `details` maps field name to a list of messages."""

    status, code = 422, "validation_failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"
