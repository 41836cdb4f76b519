"""Creating records from pushed changes: new rows are buffered and written with one COPY (or multi-row
INSERT) per table when the batch ends or a later change needs them; incidents are built by the same
`core.domain.incidents.new_incident_row` as `create_incident` (responsible level, deadline, state, the
"created" event), with tickets from `core.domain.tickets` allocated for the whole batch at once."""
from __future__ import annotations

from flask import current_app

from core.domain.access import can_act_on_incident, require as require_permission, roles_for as roles_for_table
from core.domain.incident_edits import check_promise, check_reported_at, local_today
from core.domain.incidents import (can_transition, created_event_values, new_incident_row, placement,
                                     require_promised_date, require_usable_category)
from core.domain.errors import Invalid
from core.models import Category, new_uuid
from core.settings import DomainSettings
from core.domain.tickets import allocate_tickets
from sync.bulk import RowRef, bulk_insert
from sync.collections import COLLECTIONS
from sync.versioning import allocate_versions
from core.domain.access import ACT_ON_INCIDENT

WRITE_ROLES = set(roles_for_table("incidents", "create"))  # the permission table's writers
STATUS_ACTION = {"resolved": "handle", "closed": "close", "rejected": "reject", "duplicate": "reject",
                 "in_progress": "update", "open": "reopen"}
INSERT_ORDER = ("patrols", "sites", "incidents", "incident_events")


def roles_for(action: str) -> set[str]:
    return ACT_ON_INCIDENT[action]


class Creates:
    """Mixed into sync.push.Push: expects session, principal, member, device_id, now, pending, pending_keys,
    known_absent, tickets_needed, finalize, area(), lookup() and the caches."""

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
        require_permission(self.principal, "create", "patrols", area, "record patrols")
        row = self._row("patrols", change, clock, {
            "member_id": self.member.id, "area_id": area.id, "started_at": values["started_at"],
            "ended_at": values.get("ended_at"), "checkpoints": values.get("checkpoints", []),
            "outcome": values.get("outcome", "all_clear"), "problem_count": values.get("problem_count", 0),
            "source": "device", "notes": values.get("notes", "")})
        return self._applied(row)

    def create_sites(self, change, values, clock) -> dict:
        area = self.area(values["area_id"])
        require_permission(self.principal, "create", "sites", area, "add sites to the ledger")
        row = self._row("sites", change, clock, {
            "area_id": area.id, "name": values.get("name", ""), "address": values["address"],
            "kind": values.get("kind", "coal_user"), "stove_count": values.get("stove_count", 0),
            "status": values.get("status", "identified"), "latitude": values.get("latitude"),
            "longitude": values.get("longitude"), "notes": values.get("notes", ""),
            "last_inspected_at": values.get("last_inspected_at")})
        return self._applied(row)

    def create_incidents(self, change, values, clock) -> dict:
        area = self.area(values["area_id"])
        require_permission(self.principal, "create", "incidents", area, "report problems")
        if values["category_id"] not in self._categories:  # the identity map is weak: keep them here
            self._categories[values["category_id"]] = self.session.get(Category, values["category_id"])
        category = self._categories[values["category_id"]]
        if category is None:
            raise Invalid("unknown category", details={"category_id": [f"Unknown category {values['category_id']}."]})
        require_usable_category(category, field="category_id")
        handling = values.get("handling_class", "reported")
        require_promised_date(handling, values.get("promised_date"))
        target = values.get("status", "open")
        if target != "open":
            if not can_transition("open", target):
                raise Invalid(f"a new incident cannot start as {target}",
                              details={"status": ["A new incident can be open or move from open to: "
                                                  "in_progress, resolved, rejected, duplicate."]})
            self.principal.require(area, roles_for(STATUS_ACTION[target]), f"mark problems {target}")
        if values.get("patrol_id") and self.lookup("patrols", values["patrol_id"]) is None:
            raise Invalid("unknown patrol", details={"patrol_id": ["No such patrol."]})
        settings = DomainSettings.from_config(current_app.config)
        if (area.id, handling) not in self._responsible:
            self._responsible[(area.id, handling)] = placement(self.session, area, handling, settings.timezone)
        responsible, tz = self._responsible[(area.id, handling)]
        reported_at = values.get("reported_at") or self.now
        check_reported_at(reported_at, self.now)
        if values.get("promised_date") is not None:
            check_promise(values["promised_date"], local_today(self.session, area, self.now, settings.timezone),
                          current_app.config.get("MAX_PROMISE_DAYS"))
        row = self._row("incidents", change, clock, new_incident_row(
            category=category, area=area, responsible=responsible, tz=tz, source="patrol", handling_class=handling,
            status=target, description=values.get("description", ""),
            location_text=values.get("location_text", ""), promised_date=values.get("promised_date"),
            reporter_id=self.member.id, reporter_phone=self.member.phone, latitude=values.get("latitude"),
            longitude=values.get("longitude"), patrol_id=values.get("patrol_id"),
            reported_at=reported_at, now=self.now,
            policy=settings.incident_kwargs()["policy"]))
        self.tickets_needed.append(row)
        self._event(change["id"], **created_event_values(row))
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
