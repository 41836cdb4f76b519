"""One sync round trip as a plain function: validate, push (one transaction), then pull."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from core.domain.access import Principal, sync_scope
from core.domain.errors import BadRequest, Forbidden, Invalid, PayloadTooLarge
from sync import hlc as hlc_module
from sync.models import SyncDeviceState
from sync.pull import changes_since, decode_cursor, encode_cursor, meta, removed_between, scope_hash
from sync.push import push_changes
from sync.collections import COLLECTIONS
from sync.fastcheck import unstorable_text
from sync.schemas import CANONICAL_UUID, DEFAULT_LIMIT, MAX_CHANGES, MAX_LIMIT, SCHEMA_VERSIONS, SyncRequestSchema

REQUEST_SCHEMA = SyncRequestSchema()


def validate_request(body) -> dict:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", details={"_schema": ["Must be a JSON object."]})
    changes = body.get("changes")
    if isinstance(changes, list) and len(changes) > MAX_CHANGES:
        raise PayloadTooLarge(f"at most {MAX_CHANGES} changes per request; send the rest in the next one",
                              details={"max_changes": MAX_CHANGES, "received": len(changes)})
    version = body.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and not (
            SCHEMA_VERSIONS[0] <= version <= SCHEMA_VERSIONS[1]):
        raise BadRequest(f"schema_version {version} is not supported; this server speaks "
                         f"{SCHEMA_VERSIONS[0]}..{SCHEMA_VERSIONS[1]}", code="unsupported_schema_version",
                         details={"supported": {"min": SCHEMA_VERSIONS[0], "max": SCHEMA_VERSIONS[1]}})
    fast = _fast_envelope(body)
    if fast is not None:
        return fast
    try:
        return REQUEST_SCHEMA.load(body)
    except ValidationError as exc:
        raise Invalid("Some fields are not valid; see details.", details=exc.messages) from None


_CHANGE_KEYS = {"op_id", "collection", "id", "op", "fields", "hlc"}


def _fast_envelope(body: dict) -> dict | None:
    """The common, well-formed request without marshmallow's per-field cost; None means 'let the schema
    decide' (and produce its messages)."""
    if set(body) - {"device_id", "schema_version", "cursor", "limit", "changes"}:
        return None
    device_id, cursor, limit = body.get("device_id"), body.get("cursor"), body.get("limit", DEFAULT_LIMIT)
    changes = body.get("changes", [])
    if type(device_id) is not str or len(device_id) > 64 or type(body.get("schema_version")) is not int:
        return None
    if not (cursor is None or (type(cursor) is str and len(cursor) <= 200)):
        return None
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT or type(changes) is not list:
        return None
    out = []
    for change in changes:
        if type(change) is not dict or not change.keys() <= _CHANGE_KEYS or len(change) < 5:
            return None
        op_id, record_id, clock = change.get("op_id"), change.get("id"), change.get("hlc")
        fields = change.get("fields", {})
        if (type(op_id) is not str or not 0 < len(op_id) <= 64 or unstorable_text(op_id)
                or change.get("collection") not in COLLECTIONS or change.get("op") not in ("put", "delete")
                or type(fields) is not dict or any(type(k) is not str for k in fields)
                or type(record_id) is not str or not CANONICAL_UUID.fullmatch(record_id)
                or type(clock) is not str):
            return None
        try:
            parsed = hlc_module.parse(clock)
        except ValueError:
            return None
        out.append({"op_id": op_id, "collection": change["collection"], "id": record_id, "op": change["op"],
                    "fields_": fields, "hlc": clock, "clock": parsed})
    return {"device_id": device_id, "schema_version": body["schema_version"], "cursor": cursor, "limit": limit,
            "changes": out}


def _scope_change(state: SyncDeviceState | None, cursor_scope: str, current: str, paths: list[str]):
    """(old paths to compute `removed` from, or None when unchanged; reset reason or None)."""
    if cursor_scope == current:
        return None, None
    if state is not None and cursor_scope == state.scope_hash:
        return state.scope_paths, None
    if state is not None and cursor_scope == state.previous_scope_hash:
        return state.previous_scope_paths, None
    return None, "scope_unknown"


def run_sync(session: Session, principal: Principal, body, now: datetime | None = None) -> dict:
    request = validate_request(body)
    device = principal.device
    if request["device_id"] != device.id:
        raise Forbidden("device_id does not match the device this token was issued to", code="device_mismatch",
                        details={"device_id": request["device_id"]})
    now = now or datetime.now(timezone.utc)
    info = meta(session)
    paths = sync_scope(principal)  # the permission table's reading rules, as the API applies them
    current_scope = scope_hash(paths)
    state = session.get(SyncDeviceState, device.id)

    after, old_paths, reset = 0, None, None
    if request["cursor"] is not None:
        epoch, after, cursor_scope = decode_cursor(request["cursor"])
        if epoch != info["epoch"]:
            reset = "epoch_changed"
        elif after < info["purge_horizon"]:
            reset = "cursor_older_than_purge"
        else:
            old_paths, reset = _scope_change(state, cursor_scope, current_scope, paths)
            if old_paths is not None:
                after = 0  # re-send the whole new scope; `removed` covers what left it

    results = []
    if request["changes"]:
        for change in request["changes"]:
            if "clock" not in change:
                change["clock"] = hlc_module.parse(change["hlc"])
        latest = max(change["clock"] for change in request["changes"])
        hlc_module.server_clock.receive(hlc_module.clamp(latest, hlc_module.wall_ms()))
        results = push_changes(session, principal, request["changes"], now=now)
    if state is None:
        state = SyncDeviceState(device_id=device.id, scope_hash=current_scope, scope_paths=paths,
                                previous_scope_paths=[])
        session.add(state)
    elif state.scope_hash != current_scope:
        state.previous_scope_hash, state.previous_scope_paths = state.scope_hash, state.scope_paths
        state.scope_hash, state.scope_paths = current_scope, paths
    state.last_sync_at = now
    state.last_version = after
    session.commit()

    response = {"results": results, "changes": [], "removed": [], "cursor": None, "has_more": False,
                "server_hlc": str(hlc_module.server_clock.tick()), "reset_required": reset is not None,
                "reset_reason": reset}
    if reset is None:
        if old_paths is not None:
            response["removed"] = removed_between(session, old_paths, paths)
        own = device.id if request["cursor"] is not None else None
        # first sync or reset: the device's older writes come back, but not those of this very request
        skip = {(c["collection"], c["id"]) for c in request["changes"]} if own is None else set()
        changes, next_version, has_more = changes_since(session, paths, after, request["limit"], own, skip)
        response.update(changes=changes, has_more=has_more,
                        cursor=encode_cursor(info["epoch"], next_version, current_scope))
    session.rollback()
    return response
