"""Bytes on the wire: capped gzip request bodies (a 1 KB gzip bomb must not become 1 GB in memory) and
gzip responses for clients that ask."""
from __future__ import annotations

import gzip
import json
import zlib

from flask import Response, request

from core.domain.errors import BadRequest, DomainError, PayloadTooLarge
from sync.collections import Prebuilt

MAX_DECOMPRESSED = 2 * 1024 * 1024
CHUNK = 64 * 1024


class UnsupportedEncoding(DomainError):
    status, code = 415, "unsupported_media_type"


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {MAX_DECOMPRESSED} bytes once decompressed",
                           details={"max_bytes": MAX_DECOMPRESSED})


def gunzip_capped(data: bytes, cap: int = MAX_DECOMPRESSED) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out, total = [], 0
    pending = data
    try:
        while pending:
            chunk = decompressor.decompress(pending, CHUNK)
            total += len(chunk)
            if total > cap:
                raise _too_large()
            out.append(chunk)
            pending = decompressor.unconsumed_tail
            if decompressor.eof:
                break
        if not decompressor.eof:
            raise BadRequest("the gzip body is truncated", code="bad_encoding")
    except zlib.error as exc:
        raise BadRequest("the body is not valid gzip", code="bad_encoding", details={"reason": str(exc)}) from None
    return b"".join(out)


def read_json_body():
    """The request's JSON document, gunzipped when Content-Encoding says gzip, within the size caps."""
    raw = request.get_data(cache=False)  # Werkzeug enforces MAX_CONTENT_LENGTH (413) on the raw body
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = gunzip_capped(raw)
    elif encoding not in ("", "identity"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported; use gzip or none",
                                  details={"supported": ["gzip", "identity"]})
    if len(raw) > MAX_DECOMPRESSED:
        raise _too_large()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The request body is not valid JSON.", code="invalid_json",
                         details={"reason": str(exc)[:200]}) from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.", code="invalid_json",
                         details={"reason": "RecursionError"}) from None


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_payload(payload: dict) -> bytes:
    """JSON text of a response; pulled changes the database already encoded are spliced in as they are."""
    changes = payload.get("changes") or []
    if not any(isinstance(c, Prebuilt) for c in changes):
        return _dumps(payload).encode("utf-8")
    rest = _dumps({k: v for k, v in payload.items() if k != "changes"})
    items = ",".join(c.text if isinstance(c, Prebuilt) else _dumps(c) for c in changes)
    return (rest[:-1] + ',"changes":[' + items + "]}").encode("utf-8")


def json_response(payload: dict, status: int = 200) -> Response:
    body = encode_payload(payload)
    headers = {"Content-Type": "application/json", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("Accept-Encoding", "").lower() and len(body) > 256:
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, status=status, headers=headers)
