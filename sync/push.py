"""Applying a device's pushed changes: one transaction per request, one result per op.

Why the shape: a batch of 500 new records must cost a handful of queries, so existing records,
tombstones and earlier results are loaded in one query each, new rows are buffered and written with one
COPY per table (sync/push_create.py), plain edits go out as one UPDATE per table on PostgreSQL, and only
status transitions go through the ORM (where the versioning hook and the incident domain functions do
their work). A change that breaks a rule is `rejected` before anything is mutated, so the rest of the
batch still applies without savepoints.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.domain.access import Principal, can_act_on_incident, require, roles_for
from core.domain.audit import record as audit_record
from core.domain.incident_edits import HANDLING_FIELDS, check_handling_change, update_incident
from core.domain.incidents import can_transition, transition
from core.domain.errors import Conflict, DomainError, Forbidden, Invalid
from core.models import Area, Category
from sync import hlc as hlc_module
from sync.bulk import bulk_insert, bulk_update
from sync.collections import COLLECTIONS, in_list, to_wire, wire_value
from sync.merge import clock_of, last_writer_wins, same_value, updated_clocks
from sync.models import SyncConflict, SyncOpResult, SyncTombstone
from core.domain.access import SYNC_WRITE_ACTIONS
from sync.push_create import INSERT_ORDER, STATUS_ACTION, WRITE_ROLES, Creates  # noqa: F401
from sync.schemas import load_fields
from sync.versioning import STAMPED, allocate_versions

DELETE_ROLES = set(roles_for("patrols", "delete"))  # the permission table's row


class Push(Creates):
    def __init__(self, session: Session, principal: Principal, now: datetime | None = None):
        self.session = session
        self.principal = principal
        self.member = principal.member
        self.device_id = principal.device.id
        self.now = now or datetime.now(timezone.utc)
        self.now_ms = int(self.now.timestamp() * 1000)
        self.pending: dict[str, list[dict]] = {name: [] for name in INSERT_ORDER}
        self.pending_keys: set = set()
        self.tickets_needed: list[dict] = []
        self.existing: dict = {}
        self.known_absent: set = set()  # preloaded and not found: no need to ask the database again
        self.tombstoned: set = set()
        self.conflicts: list[dict] = []
        self.finalize: list[tuple[dict, object]] = []
        self._areas: dict = {}
        self._categories: dict = {}
        self._responsible: dict = {}
        self.lock = session.get_bind().dialect.name == "postgresql"
        self.deferred: dict = {}  # (collection, id) -> (object, changed columns); PostgreSQL only
        self.transitioned: set = set()

    # ---- loading ------------------------------------------------------------------------------------
    def preload(self, changes: list[dict]) -> None:
        by_collection: dict[str, list[str]] = {}
        for change in changes:
            if COLLECTIONS[change["collection"]].writable:
                by_collection.setdefault(change["collection"], []).append(change["id"])
        for name, ids in by_collection.items():
            self.known_absent.update((name, record_id) for record_id in ids)
            model = COLLECTIONS[name].model
            query = select(model).where(in_list(self.session, model.id, sorted(set(ids)))).order_by(model.id)
            if self.lock:
                query = query.with_for_update(of=model)
            for obj in self.session.scalars(query):
                self.existing[(name, obj.id)] = obj
                self.known_absent.discard((name, obj.id))
        pairs = [(c["collection"], c["id"]) for c in changes]
        if pairs:
            ids = sorted({record_id for _, record_id in pairs})
            rows = self.session.execute(select(SyncTombstone.collection, SyncTombstone.record_id)
                                        .where(in_list(self.session, SyncTombstone.record_id, ids)))
            self.tombstoned = {tuple(row) for row in rows}

    def area(self, area_id) -> Area:
        if area_id not in self._areas:
            self._areas[area_id] = self.session.get(Area, area_id)
        found = self._areas[area_id]
        if found is None:
            raise Invalid(f"no area with id {area_id}", details={"area_id": [f"Unknown area {area_id}."]})
        return found

    def lookup(self, name: str, record_id: str):
        key = (name, record_id)
        if key in self.pending_keys:
            self.flush_pending()
        obj = self.existing.get(key)
        if obj is None and key not in self.known_absent:
            obj = self.session.get(COLLECTIONS[name].model, record_id)
            if obj is not None:
                self.existing[(name, record_id)] = obj
        return obj

    # ---- the batch ----------------------------------------------------------------------------------
    def run(self, changes: list[dict]) -> list[dict]:
        op_ids = sorted({c["op_id"] for c in changes})
        stored = dict(self.session.execute(
            select(SyncOpResult.op_id, SyncOpResult.result)
            .where(SyncOpResult.device_id == self.device_id, in_list(self.session, SyncOpResult.op_id, op_ids))
        ).all()) if op_ids else {}
        self.preload([c for c in changes if c["op_id"] not in stored])
        results, this_batch, new_results = [], {}, []
        with self.session.no_autoflush:  # one flush at the end; plain updates go out in bulk (flush_deferred)
            for change in changes:
                op_id = change["op_id"]
                if op_id in stored or op_id in this_batch:
                    results.append(stored.get(op_id) or this_batch[op_id])
                    continue
                result = self._apply_one(change)
                result["op_id"] = op_id
                this_batch[op_id] = result
                new_results.append(result)
                results.append(result)
        self.flush_pending()
        self.flush_deferred()
        self.session.flush()
        for result, obj in self.finalize:
            result["version"] = obj.version
            name = result.pop("_collection", None)
            if name and obj.deleted_at is None:
                result["record"] = to_wire(COLLECTIONS[name], obj)
        if self.conflicts:
            bulk_insert(self.session, SyncConflict.__table__, self.conflicts)
        if new_results:
            bulk_insert(self.session, SyncOpResult.__table__, [
                {"device_id": self.device_id, "op_id": r["op_id"], "result": r, "created_at": self.now}
                for r in new_results])
        return results

    def _apply_one(self, change: dict) -> dict:
        try:
            return self.apply(change)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            return {"status": "rejected", "reason": "validation_failed", "errors": messages}
        except DomainError as exc:
            errors = {k: v for k, v in exc.details.items() if isinstance(v, list)} or {"_schema": [exc.message]}
            return {"status": "rejected", "reason": exc.code, "errors": errors}
        except (OverflowError, ArithmeticError, ValueError) as exc:
            # A value no rule foresaw (a date at the end of time, a number beyond range): this change is
            # rejected; the batch's other changes still land ("one bad change never fails the others").
            return {"status": "rejected", "reason": "invalid_value",
                    "errors": {"_schema": [f"A value is out of range: {type(exc).__name__}."]}}

    def _deferrable(self, name: str, obj) -> bool:
        return self.lock and name in ("patrols", "sites", "incidents") and obj.id not in self.transitioned

    def defer(self, name: str, obj, columns) -> None:
        """A plain field update (no status transition) on PostgreSQL: written with the batch's other plain
        updates in one UPDATE per table instead of one per row (the ORM's way)."""
        key = (name, obj.id)
        self.deferred.setdefault(key, (obj, set()))[1].update(columns)

    def flush_deferred(self) -> None:
        if not self.deferred:
            return
        versions = iter(allocate_versions(self.session, len(self.deferred)))
        groups: dict = {}
        for (name, _), (obj, columns) in self.deferred.items():
            obj.version, obj.updated_at = next(versions), self.now
            obj.__dict__.pop(STAMPED, None)
            self.session.expunge(obj)  # its changes go out below, not in the ORM flush
            columns = tuple(sorted(columns | {"version", "updated_at", "field_clocks", "sync_origin"}))
            groups.setdefault((name, columns), []).append(obj)
        for (name, columns), objs in groups.items():
            bulk_update(self.session, COLLECTIONS[name].model.__table__, columns, objs)
        self.deferred = {}

    def apply(self, change: dict) -> dict:
        name = change["collection"]
        if not COLLECTIONS[name].writable:
            raise Forbidden(f"{name} is reference data that devices only pull", code="read_only_collection")
        clock = hlc_module.clamp(change.get("clock") or hlc_module.parse(change["hlc"]), self.now_ms)
        obj = self.lookup(name, change["id"])
        if change["op"] == "delete":
            return self.delete(name, change, obj, clock)
        if obj is None:
            if (name, change["id"]) in self.tombstoned:
                return self.log_conflict(change, clock, "deleted", {"deleted": True}, deleted=True)
            return getattr(self, f"create_{name}")(change, load_fields(name, change["fields_"], True), clock)
        return self.update(name, change, obj, clock)

    def log_conflict(self, change, clock, reason, winning, deleted=False, obj=None) -> dict:
        self.conflicts.append({"at": self.now, "device_id": self.device_id, "op_id": change["op_id"],
                               "collection": change["collection"], "record_id": change["id"], "reason": reason,
                               "hlc": str(clock), "pushed": change["fields_"], "winning": winning})
        result = {"status": "conflict", "reason": reason}
        if deleted:
            result["deleted"] = True
        if obj is not None:
            self.finalize.append((result, obj))
            result["_collection"] = change["collection"]
        return result

    # ---- updates and deletes ------------------------------------------------------------------------
    def _immutable(self, name: str, obj) -> bool:
        if name == "incident_events":
            return True
        return name == "patrols" and obj.ended_at is not None and clock_of(obj.field_clocks or {}, "ended_at") \
            != hlc_module.ZERO

    def _may_update(self, name: str, obj) -> None:
        if name == "incidents":
            can_act_on_incident(self.principal, obj, "update")
        elif name == "patrols" and obj.member_id != self.member.id:
            require(self.principal, "update_others", "patrols", self.area(obj.area_id), "edit another member's patrol")
        else:
            action = SYNC_WRITE_ACTIONS[(name, "update")]
            require(self.principal, action, name, self.area(obj.area_id), f"edit {name}")

    def update(self, name: str, change: dict, obj, clock) -> dict:
        if obj.deleted_at is not None:
            return self.log_conflict(change, clock, "deleted", {"deleted": True}, deleted=True, obj=obj)
        values = load_fields(name, change["fields_"], False)
        current = {field: getattr(obj, field) for field in values}
        if self._immutable(name, obj):
            if all(same_value(values[f], current[f]) for f in values):
                result = {"status": "duplicate", "_collection": name}
                self.finalize.append((result, obj))
                return result
            return self.log_conflict(change, clock, "append_only", {k: wire_value(v) for k, v in current.items()},
                                     obj=obj)
        self._may_update(name, obj)
        fixed = {}
        if name == "incidents" and "reported_at" in values and not same_value(values["reported_at"], obj.reported_at):
            # reported_at is fixed at creation (core.domain.incident_edits). A device's other value — say the
            # phone's own copy of a record that first arrived by coded SMS — loses like an older clock, and the
            # rest of its change still merges.
            values.pop("reported_at")
            fixed["reported_at"] = obj.reported_at
        if name == "incidents":  # who may move a deadline: the domain rule
            check_handling_change(self.session, self.principal, obj, values, now=self.now,
                                  max_days=current_app.config.get("MAX_PROMISE_DAYS"),
                                  default_tz=current_app.config["GRIDPATROL_TIMEZONE"])
        if "area_id" in values and values["area_id"] != obj.area_id:
            require(self.principal, "create", name, self.area(values["area_id"]), f"move {name} here")
        if values.get("patrol_id") and self.lookup("patrols", values["patrol_id"]) is None:
            raise Invalid("unknown patrol", details={"patrol_id": ["No such patrol."]})
        if "category_id" in values and self.session.get(Category, values["category_id"]) is None:
            raise Invalid("unknown category", details={"category_id": [f"Unknown category {values['category_id']}."]})
        winners, losers = last_writer_wins(current, obj.field_clocks or {}, values, clock)
        losers.update(fixed)
        handling = {k: winners[k] for k in HANDLING_FIELDS
                    if k in winners and winners[k] != getattr(obj, k)} if name == "incidents" else {}
        if handling:  # a new deadline and a history event, as the API and SMS write them
            update_incident(self.session, obj, handling, channel="device", actor=self.member, now=self.now,
                            policy=current_app.config.get("DEADLINE_POLICY") or None,
                            default_tz=current_app.config["GRIDPATROL_TIMEZONE"])
            audit_record(self.session, "incident.update", channel="device", actor=self.member, entity="incident",
                         entity_id=obj.id, summary={"ticket": obj.ticket, "fields": sorted(handling),
                                                    "device_id": self.device_id})
            self.transitioned.add(obj.id)
            self.deferred.pop((name, obj.id), None)
        errors = {}
        if name == "incidents" and "status" in winners and winners["status"] != obj.status:
            target = winners.pop("status")
            action = STATUS_ACTION.get(target, "update")
            allowed = can_transition(obj.status, target)
            if allowed:
                try:
                    can_act_on_incident(self.principal, obj, action)
                except Forbidden as exc:
                    allowed, errors = False, {"status": [exc.message]}
            else:
                errors = {"status": [f"An incident that is {obj.status} cannot become {target}."]}
            if allowed:
                transition(self.session, obj, target, channel="device", actor=self.member, now=self.now,
                           kind="handled" if target == "resolved" else "status_change")
                self.transitioned.add(obj.id)  # history events ride on the ORM flush: so must this row
                self.deferred.pop((name, obj.id), None)
                winners["status"] = target
            else:
                losers["status"] = obj.status
        if winners:
            for field, value in winners.items():
                if field != "status":
                    setattr(obj, field, value)
            obj.field_clocks = updated_clocks(obj.field_clocks, winners, clock)
            obj.sync_origin = self.device_id
            obj.__dict__[STAMPED] = True
            if self._deferrable(name, obj):
                self.defer(name, obj, set(winners) - {"status"})
        lost = {field: wire_value(value) for field, value in losers.items()}
        if errors:
            result = self.log_conflict(change, clock, "illegal_transition", lost, obj=obj)
            result.update(lost_fields=lost, errors=errors)
            return result
        if lost:
            self.conflicts.append({"at": self.now, "device_id": self.device_id, "op_id": change["op_id"],
                                   "collection": name, "record_id": change["id"], "reason": "older_clock",
                                   "hlc": str(clock), "pushed": {k: change["fields_"].get(k) for k in lost},
                                   "winning": lost})
            result = {"status": "merged", "lost_fields": lost, "_collection": name}
        else:
            result = {"status": "applied"}
            if name == "incidents":
                result["_collection"] = name
        self.finalize.append((result, obj))
        return result

    def delete(self, name: str, change: dict, obj, clock) -> dict:
        if obj is None:
            if (name, change["id"]) in self.tombstoned:
                return {"status": "duplicate", "deleted": True}
            version = allocate_versions(self.session, 1)[0]
            self.session.execute(insert(SyncTombstone).values(
                collection=name, record_id=change["id"], version=version, area_path=None, deleted_at=self.now,
                sync_origin=self.device_id))
            self.tombstoned.add((name, change["id"]))
            return {"status": "applied", "version": version, "deleted": True}
        if obj.deleted_at is not None:
            result = {"status": "duplicate", "deleted": True}
            self.finalize.append((result, obj))
            return result
        if self._immutable(name, obj):
            raise Conflict(f"{name} records are append-only once submitted", code="append_only")
        own_draft = name == "patrols" and obj.member_id == self.member.id
        if not own_draft:
            require(self.principal, "delete", name,
                    self.area(obj.area_id if name != "incident_events" else obj.incident.area_id), f"delete {name}")
        obj.deleted_at = self.now
        obj.field_clocks = updated_clocks(obj.field_clocks, ["_deleted"], clock)
        obj.sync_origin = self.device_id
        obj.__dict__[STAMPED] = True
        if self._deferrable(name, obj):
            self.defer(name, obj, {"deleted_at"})
        result = {"status": "applied", "deleted": True}
        self.finalize.append((result, obj))
        return result


def push_changes(session: Session, principal: Principal, changes: list[dict], now=None) -> list[dict]:
    return Push(session, principal, now).run(changes)

