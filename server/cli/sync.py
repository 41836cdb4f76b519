"""`gridpatrol` subcommands of the sync feature: `device ...` drives the reference client (a patroller's
phone in a terminal), `sync ...` holds operator actions. The CLI adds every click command in `commands`."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import click

from sync.device.client import DeviceClient, HttpTransport, SyncError
from server.cli.common import build_app
from core.db import db
from sync.admin import new_epoch, purge_tombstones

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


def _client(db: str, server: str | None = None, token: str | None = None, device_id: str | None = None):
    client = DeviceClient(db, device_id=device_id)
    server = server or client._get("server")
    token = token or client._get("token")
    if server:
        client._set("server", server)
    if token:
        client._set("token", token)
    if server and token:
        client.transport = HttpTransport(server, token)
    return client


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


db_option = click.option("--db", "db", default="device.sqlite", show_default=True,
                         help="The device's local SQLite file.")


@click.group("device")
def device():
    """A patroller's phone in a terminal: queue edits offline, then sync."""


@device.command("init")
@db_option
@click.option("--server", required=True)
@click.option("--token", required=True, help="The device token shown once at registration.")
@click.option("--device-id", required=True)
def device_init(db, server, token, device_id):
    """Remember the server, token and device id in the local database."""
    _client(db, server, token, device_id)
    click.echo(f"device {device_id} ready in {db}")


@device.command("sync")
@db_option
@click.option("--server", default=None)
@click.option("--token", default=None)
@click.option("--device-id", default=None)
@click.option("--batch-size", default=500, show_default=True)
def device_sync(db, server, token, device_id, batch_size):
    """Push the outbox and pull until both are drained (retries with backoff when the signal drops)."""
    client = _client(db, server, token, device_id)
    if client.transport is None or not client.device_id:
        raise click.UsageError("give --server, --token and --device-id once (or run `gridpatrol device init`)")
    client.batch_size = batch_size
    seen = len(client.conflicts())
    try:
        stats = client.sync()
    except SyncError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(stats, ensure_ascii=False))
    for item in client.conflicts()[seen:]:  # each change the server merged away or refused, and why
        click.echo(_describe_conflict(item))


def _describe_conflict(item: dict) -> str:
    why = item.get("reason") or ""
    errors = item.get("errors")
    if errors:
        why += (" " if why else "") + json.dumps(errors, ensure_ascii=False)
    lost = item.get("lost_fields")
    if lost:
        lost_names = sorted(lost) if isinstance(lost, (list, dict)) else [str(lost)]
        why += (" " if why else "") + "lost: " + ", ".join(lost_names)
    return f"{item['status']} {item['collection']}/{item['id']}: {why or 'no reason given'}"


def _area_id(client, value: str) -> int:
    """`--area CJ05-1-1` or an id: codes are looked up in the device's replica (areas sync down to it)."""
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    for record_id, area in client.all("areas").items():
        if str(area.get("code", "")).upper() == value.upper():
            return int(record_id)
    raise click.BadParameter(f"no area {value} on this device (run `gridpatrol device sync` first)",
                             param_hint="--area")


@device.command("add-patrol")
@db_option
@click.option("--area", "area_id", required=True, help="grid code (e.g. CJ05-1-1) or id")
@click.option("--notes", default="")
@click.option("--problems", type=int, default=0)
@click.option("--ended/--ongoing", default=True, help="An ended patrol is submitted and becomes immutable.")
def add_patrol(db, area_id, notes, problems, ended):
    fields = {"area_id": _area_id(_client(db), area_id), "started_at": _now(), "notes": notes,
              "problem_count": problems,
              "outcome": "problems_found" if problems else "all_clear"}
    if ended:
        fields["ended_at"] = _now()
    click.echo(_client(db).put("patrols", **fields))


@device.command("add-incident")
@db_option
@click.option("--area", "area_id", required=True, help="grid code (e.g. CJ05-1-1) or id")
@click.option("--category", "category_id", type=int, required=True, help="Category number, e.g. 5 for 散煤.")
@click.option("--description", default="")
@click.option("--location", "location_text", default="")
@click.option("--handling", "handling_class", type=click.Choice(["immediate", "reported", "committed"]),
              default="reported")
@click.option("--status", default=None, help="e.g. resolved for a problem fixed on the spot (即办).")
@click.option("--patrol", "patrol_id", default=None)
def add_incident(db, **fields):
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    fields["area_id"] = _area_id(_client(db), fields["area_id"])
    fields["reported_at"] = _now()
    click.echo(_client(db).put("incidents", **fields))


@device.command("add-site")
@db_option
@click.option("--area", "area_id", required=True, help="area code (e.g. CJ05-1-1) or id")
@click.option("--address", required=True)
@click.option("--name", default="")
@click.option("--kind", default="coal_user")
@click.option("--stoves", "stove_count", type=int, default=0)
def add_site(db, **fields):
    fields["area_id"] = _area_id(_client(db), fields["area_id"])
    click.echo(_client(db).put("sites", **fields))


@device.command("add-note")
@db_option
@click.argument("incident_id")
@click.argument("note")
def add_note(db, incident_id, note):
    click.echo(_client(db).put("incident_events", incident_id=incident_id, kind="note", note=note, at=_now()))


@device.command("edit")
@db_option
@click.argument("collection")
@click.argument("record_id")
@click.argument("assignments", nargs=-1, required=True)
def edit(db, collection, record_id, assignments):
    """Edit fields: `gridpatrol device edit incidents ID status=resolved description=已处理`.
    Values are JSON when they parse as JSON (numbers, null), else text."""
    fields = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not field=value")
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    _client(db).put(collection, record_id, **fields)
    click.echo(f"queued {len(fields)} field(s) for {collection}/{record_id}")


@device.command("delete")
@db_option
@click.argument("collection")
@click.argument("record_id")
def delete(db, collection, record_id):
    _client(db).delete(collection, record_id)
    click.echo(f"queued delete of {collection}/{record_id}")


@device.command("show")
@db_option
@click.argument("collection")
@click.argument("record_id", required=False)
def show(db, collection, record_id):
    """What the phone shows: the replica with pending edits on top."""
    client = _client(db)
    data = client.get(collection, record_id) if record_id else client.all(collection)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@device.command("status")
@db_option
def status(db):
    client = _client(db)
    counts = dict(client.db.execute("SELECT collection, count(*) FROM records GROUP BY collection").fetchall())
    click.echo(json.dumps({"device_id": client.device_id, "pending": client.pending(), "cursor": client.cursor,
                           "records": counts, "conflicts": len(client.conflicts())}, ensure_ascii=False, indent=2))


@click.group("sync")
def sync_admin():
    """Operator actions on sync state."""


@contextmanager
def _app_session():
    """A committed-on-success session of an app built like every other `gridpatrol` command's."""
    from sqlalchemy.orm import Session
    app = build_app()
    with app.app_context():
        with Session(db.engine) as session, session.begin():
            yield session


@sync_admin.command("purge-tombstones")
@click.option("--older-than-days", type=int, default=90, show_default=True)
def purge(older_than_days):
    """Hard-delete records deleted long ago; devices with older cursors will be told to reset."""
    with _app_session() as session:
        counts = purge_tombstones(session, datetime.now(timezone.utc) - timedelta(days=older_than_days))
    click.echo(json.dumps(counts))


@sync_admin.command("new-epoch")
def epoch():
    """After restoring a database backup: every device resets its replica on its next sync."""
    with _app_session() as session:
        click.echo(new_epoch(session))


commands = [device, sync_admin]
