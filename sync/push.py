"""Applying a device's pushed changes: one transaction per request, one result per op.

Why the shape: a batch of 500 new records must cost a handful of queries, so existing records,
tombstones and earlier results are loaded in one query each, new rows are buffered and written with one
multi-row INSERT per table, and only updates go through the ORM (where the versioning hook and the
incident domain functions do their work). A change that breaks a rule is `rejected` before anything is
mutated, so the rest of the batch still applies without savepoints.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.domain.access import Principal, can_act_on_incident
from server.domain.areas import effective_timezone
from server.domain.incidents import can_transition, compute_deadline, initial_responsible_area, transition
from server.errors import Conflict, DomainError, Forbidden, Invalid
from server.models import Area, Category, LEADER_ROLES, new_uuid
from sync import hlc as hlc_module
from sync.bulk import RowRef, allocate_tickets, bulk_insert, bulk_update
from sync.collections import COLLECTIONS, in_list, to_wire, wire_value
from sync.merge import clock_of, last_writer_wins, same_value, updated_clocks
from sync.models import SyncConflict, SyncOpResult, SyncTombstone
from sync.schemas import load_fields
from sync.versioning import STAMPED, allocate_versions

WRITE_ROLES = {"patroller", *LEADER_ROLES, "supervisor", "admin"}
DELETE_ROLES = {*LEADER_ROLES, "supervisor", "admin"}
STATUS_ACTION = {"resolved": "handle", "closed": "close", "rejected": "reject", "duplicate": "reject",
                 "in_progress": "update", "open": "reopen"}
INSERT_ORDER = ("patrols", "sites", "incidents", "incident_events")


class Push:
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
        self._tz: dict = {}
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

    # ---- creates ------------------------------------------------------------------------------------
    def _row(self, name: str, change: dict, clock, values: dict, origin=True) -> dict:
        row = {"id": change["id"], "version": None, "field_clocks": {"_": str(clock)}, "deleted_at": None,
               "sync_origin": self.device_id if origin else None, **values}
        if name != "incident_events":
            row.setdefault("created_at", self.now)
            row.setdefault("updated_at", self.now)
        self.pending[name].append(row)
        self.pending_keys.add((name, change["id"]))
        self.known_absent.discard((name, change["id"]))
        return row

    def _applied(self, row: dict, with_record: str | None = None) -> dict:
        result = {"status": "applied"}
        if with_record:  # the server filled fields in (ticket, deadline): the device needs them
            result["_collection"] = with_record
        self.finalize.append((result, RowRef(row)))
        return result

    def create_patrols(self, change, values, clock) -> dict:
        area = self.area(values["area_id"])
        self.principal.require(area, WRITE_ROLES, "record patrols")
        row = self._row("patrols", change, clock, {
            "member_id": self.member.id, "area_id": area.id, "started_at": values["started_at"],
            "ended_at": values.get("ended_at"), "checkpoints": values.get("checkpoints", []),
            "outcome": values.get("outcome", "all_clear"), "problem_count": values.get("problem_count", 0),
            "source": "device", "notes": values.get("notes", "")})
        return self._applied(row)

    def create_sites(self, change, values, clock) -> dict:
        area = self.area(values["area_id"])
        self.principal.require(area, WRITE_ROLES, "add sites to the ledger")
        row = self._row("sites", change, clock, {
            "area_id": area.id, "name": values.get("name", ""), "address": values["address"],
            "kind": values.get("kind", "coal_user"), "stove_count": values.get("stove_count", 0),
            "status": values.get("status", "identified"), "latitude": values.get("latitude"),
            "longitude": values.get("longitude"), "notes": values.get("notes", ""),
            "last_inspected_at": values.get("last_inspected_at")})
        return self._applied(row)

    def create_incidents(self, change, values, clock) -> dict:
        area = self.area(values["area_id"])
        self.principal.require(area, WRITE_ROLES, "report problems")
        if values["category_id"] not in self._categories:  # the identity map is weak: keep them here
            self._categories[values["category_id"]] = self.session.get(Category, values["category_id"])
        category = self._categories[values["category_id"]]
        if category is None or not category.active:
            raise Invalid("unknown category", details={"category_id": [f"Unknown category {values['category_id']}."]})
        handling = values.get("handling_class", "reported")
        if handling == "committed" and not values.get("promised_date"):
            raise Invalid("a committed (承诺) problem needs a promised date",
                          details={"promised_date": ["Required when handling_class is committed."]})
        target = values.get("status", "open")
        if target != "open":
            if not can_transition("open", target):
                raise Invalid(f"a new incident cannot start as {target}",
                              details={"status": [f"A new incident can be open or move from open to: "
                                                  f"in_progress, resolved, rejected, duplicate."]})
            self.principal.require(area, _roles_for(STATUS_ACTION[target]), f"mark problems {target}")
        if values.get("patrol_id") and self.lookup("patrols", values["patrol_id"]) is None:
            raise Invalid("unknown patrol", details={"patrol_id": ["No such patrol."]})
        if (area.id, handling) not in self._responsible:
            self._responsible[(area.id, handling)] = initial_responsible_area(self.session, area, handling)
        responsible = self._responsible[(area.id, handling)]
        if responsible.id not in self._tz:
            self._tz[responsible.id] = effective_timezone(self.session, responsible,
                                                          current_app.config["GRIDPATROL_TIMEZONE"])
        reported_at = values.get("reported_at") or self.now
        deadline = compute_deadline(handling, responsible.kind, reported_at, self._tz[responsible.id],
                                    values.get("promised_date"), current_app.config.get("DEADLINE_POLICY"))
        row = self._row("incidents", change, clock, {
            "ticket": None, "category_id": category.id, "area_id": area.id, "responsible_area_id": responsible.id,
            "responsible_level": responsible.kind, "location_text": values.get("location_text", ""),
            "latitude": values.get("latitude"), "longitude": values.get("longitude"),
            "description": values.get("description", ""), "source": "patrol", "handling_class": handling,
            "promised_date": values.get("promised_date"), "status": target, "deadline": deadline,
            "escalation_count": 0, "flagged": False, "acknowledged_at": None,
            "resolved_at": self.now if target == "resolved" else None, "closed_at": None, "reported_at": reported_at,
            "reporter_member_id": self.member.id, "reporter_phone": self.member.phone,
            "patrol_id": values.get("patrol_id"), "duplicate_of_id": None})
        self.tickets_needed.append(row)
        self._event(change["id"], "created", to_status="open", to_area_id=responsible.id,
                    data={"source": "patrol", "handling_class": handling})
        if target != "open":
            self._event(change["id"], "handled" if target == "resolved" else "status_change",
                        from_status="open", to_status=target)
        return self._applied(row, with_record="incidents")

    def _event(self, incident_id, kind, **values) -> None:
        """A server-written history event: the device has not got it, so it is pulled like any other."""
        row = {"id": new_uuid(), "version": None, "field_clocks": {}, "deleted_at": None, "sync_origin": None,
               "incident_id": incident_id, "kind": kind, "at": self.now, "channel": "device",
               "actor_member_id": self.member.id, "actor_label": self.member.name, "from_status": None,
               "to_status": None, "from_area_id": None, "to_area_id": None, "note": "", "data": {}}
        row.update(values)
        self.pending["incident_events"].append(row)

    def create_incident_events(self, change, values, clock) -> dict:
        incident = self.lookup("incidents", values["incident_id"])
        if incident is None:  # a tombstoned incident still takes history: arrival order must not matter
            raise Invalid("unknown incident", details={"incident_id": ["No such incident."]})
        can_act_on_incident(self.principal, incident, "note")
        row = self._row("incident_events", change, clock, {
            "incident_id": incident.id, "kind": values["kind"], "at": values.get("at") or self.now,
            "channel": "device", "actor_member_id": self.member.id, "actor_label": self.member.name,
            "from_status": None, "to_status": None, "from_area_id": None, "to_area_id": None,
            "note": values["note"], "data": values.get("data", {})})
        return self._applied(row)

    def flush_pending(self) -> None:
        if not any(self.pending.values()):
            return
        if self.tickets_needed:
            for row, ticket in zip(self.tickets_needed, allocate_tickets(self.session, len(self.tickets_needed))):
                row["ticket"] = ticket
            self.tickets_needed = []
        rows_total = sum(len(rows) for rows in self.pending.values())
        versions = iter(allocate_versions(self.session, rows_total))
        for name in INSERT_ORDER:
            rows = self.pending[name]
            if rows:
                for row in rows:
                    row["version"] = next(versions)
                bulk_insert(self.session, COLLECTIONS[name].model.__table__, rows)
                self.pending[name] = []
        self.pending_keys.clear()

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
            self.principal.require(self.area(obj.area_id), DELETE_ROLES, "edit another member's patrol")
        else:
            self.principal.require(self.area(obj.area_id), WRITE_ROLES, f"edit {name}")

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
        if "area_id" in values and values["area_id"] != obj.area_id:
            self.principal.require(self.area(values["area_id"]), WRITE_ROLES, f"move {name} here")
        if values.get("patrol_id") and self.lookup("patrols", values["patrol_id"]) is None:
            raise Invalid("unknown patrol", details={"patrol_id": ["No such patrol."]})
        if "category_id" in values and self.session.get(Category, values["category_id"]) is None:
            raise Invalid("unknown category", details={"category_id": [f"Unknown category {values['category_id']}."]})
        winners, losers = last_writer_wins(current, obj.field_clocks or {}, values, clock)
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
            self.principal.require(self.area(obj.area_id if name != "incident_events" else obj.incident.area_id),
                                   DELETE_ROLES, f"delete {name}")
        obj.deleted_at = self.now
        obj.field_clocks = updated_clocks(obj.field_clocks, ["_deleted"], clock)
        obj.sync_origin = self.device_id
        obj.__dict__[STAMPED] = True
        if self._deferrable(name, obj):
            self.defer(name, obj, {"deleted_at"})
        result = {"status": "applied", "deleted": True}
        self.finalize.append((result, obj))
        return result


def _roles_for(action: str) -> set[str]:
    from server.domain.access import ACT_ON_INCIDENT
    return ACT_ON_INCIDENT[action]


def push_changes(session: Session, principal: Principal, changes: list[dict], now=None) -> list[dict]:
    return Push(session, principal, now).run(changes)

