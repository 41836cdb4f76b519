"""The `gridpatrol` command: operate an installation from a shell.

Plain click calling `create_app()` (configuration from the environment, like gunicorn and the workers).
Every command that writes records it in the audit log with channel "cli". This module holds the
foundation's commands; each feature's are in a module of this package (server/cli/sync.py, sms.py, …)
listing them in `commands`, and what they share is server/cli/common.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask

from server.cli.common import CLI_ACTOR, build_app, domain_errors, drain_runners

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """gridpatrol — 网格巡查: patrols, problems and alerts for air-pollution grid management."""
    # Feature commands may use flask.cli.with_appcontext; it builds its app through this ScriptInfo.
    from flask.cli import ScriptInfo
    ctx.obj = ScriptInfo(create_app=build_app, set_debug_flag=False)
    ctx.call_on_close(drain_runners)


# ---------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database to every migration head."""
    from server.migrate import UnversionedDatabase, current_revisions, record_migration, upgrade_database
    app = build_app()
    before = current_revisions(app)
    try:
        heads = upgrade_database(app)
    except UnversionedDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    record_migration(app, "db.upgrade", before, heads)
    click.echo(f"database at {', '.join(heads)} ({_describe_db(app)})")
    from server.migrate import seed_after_upgrade
    seeded = seed_after_upgrade(app)
    if seeded.get("categories_added"):
        click.echo(f"seeded the standard problem catalogue ({seeded['categories_added']} categories; "
                   "`gridpatrol catalogue list`)")


@db.command("stamp")
@click.argument("revision", default="heads")
def db_stamp(revision: str) -> None:
    """Record the database as being at REVISION (default: every head) without changing its schema."""
    from server.migrate import current_revisions, record_migration, stamp_database
    app = build_app()
    before = current_revisions(app)
    heads = stamp_database(app, revision)
    record_migration(app, "db.stamp", before, heads)
    click.echo(f"database stamped at {', '.join(heads)}")


@db.command("current")
def db_current() -> None:
    """Show the migration revisions the database is at."""
    from server.migrate import current_revisions, head_revisions
    app = build_app()
    current = current_revisions(app)
    click.echo(f"current: {', '.join(current) or '(empty database)'}")
    click.echo(f"heads:   {', '.join(head_revisions())}")


def _describe_db(app: Flask) -> str:
    from sqlalchemy.engine import make_url
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)


# ---------------------------------------------------------------- admin
@main.group()
def admin() -> None:
    """Administrators."""


@admin.command("create")
@click.option("--name", required=True, help="the person's name, e.g. 王主任")
@click.option("--phone", required=True, help="mobile number; +86 is assumed")
@click.option("--area", "area_code", default=None, help="limit the admin to this area's subtree (default: all)")
@domain_errors
def admin_create(name: str, phone: str, area_code: str | None) -> None:
    """Create an admin (or give an existing member the admin role) and print a new staff token once."""
    from core.domain import audit
    from core.domain.areas import area_by_code
    from core.domain.members import member_by_phone, member_name
    from core.domain.phones import normalize_phone
    from core.domain.tokens import issue_staff_token
    from core.domain.errors import Conflict, NotFound
    from core.db import db as database
    from core.models import Assignment, Member

    app = build_app()
    with app.app_context():
        session = database.session
        name = member_name(name)
        phone = normalize_phone(phone, app.config["GRIDPATROL_PHONE_REGION"])
        area = None
        if area_code:
            area = area_by_code(session, area_code)
            if area is None:
                raise NotFound(f"no area with code {area_code}")
        member = member_by_phone(session, phone)
        if member is None:
            member = Member(name=name, phone=phone)
            session.add(member)
        elif member.name != name:
            raise Conflict(f"{phone} already belongs to {member.name}")
        elif member.deleted_at is not None or not member.active:
            raise Conflict(f"{member.name} ({phone}) was removed or deactivated; a token for them would not work")
        area_id = area.id if area else None
        if not any(a.role == "admin" and a.area_id == area_id for a in member.assignments):
            member.assignments.append(Assignment(role="admin", area_id=area_id))
        _, token = issue_staff_token(session, member, name="cli")
        audit.record(session, "admin.create", channel="cli", actor_label=CLI_ACTOR, entity="member",
                     entity_id=member.id, summary={"name": name, "area": area.code if area else None,
                                                   "assignments": [{"role": "admin",
                                                                    "area": area.code if area else None}]})
        session.commit()
    click.echo(f"admin {name} ({phone}) — staff token (shown once, keep it safe):", err=True)
    click.echo(token)


# ---------------------------------------------------------------- token
@main.group()
def token() -> None:
    """Staff API tokens."""


@token.command("issue")
@click.option("--phone", required=True, help="the staff member's phone number")
@click.option("--label", default="cli", help="what the token is for, e.g. 'laptop'")
@click.option("--days", type=click.IntRange(min=1), default=None, help="expire after this many days")
@domain_errors
def token_issue(phone: str, label: str, days: int | None) -> None:
    """Issue a staff token for a leader, supervisor or admin and print it once."""
    from datetime import timedelta

    from core.domain import audit
    from core.domain.members import member_by_typed_phone
    from core.domain.tokens import issue_staff_token
    from core.domain.errors import Forbidden, NotFound
    from core.db import db as database
    from core.models import STAFF_ROLES, utcnow

    app = build_app()
    with app.app_context():
        session = database.session
        member = member_by_typed_phone(session, phone, app.config["GRIDPATROL_PHONE_REGION"])
        if member.deleted_at is not None or not member.active:
            raise NotFound(f"no active member with phone {member.phone}")
        if not set(member.roles) & set(STAFF_ROLES):
            raise Forbidden(f"{member.name} has no staff role ({', '.join(member.roles) or 'none'}); "
                            "patrollers use device tokens (`gridpatrol device register`)")
        expires = utcnow() + timedelta(days=days) if days else None
        record, secret = issue_staff_token(session, member, name=label, expires_at=expires)
        audit.record(session, "token.issue", channel="cli", actor_label=CLI_ACTOR, entity="member",
                     entity_id=member.id,
                     summary={"label": label, "expires_at": expires.isoformat() if expires else None})
        session.commit()
        member_name = member.name
    click.echo(f"staff token for {member_name} (shown once):", err=True)
    click.echo(secret)


# ---------------------------------------------------------------- roster
@main.group()
def roster() -> None:
    """Roster (communities, grids, people, roles)."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--parent", default=None, help="code of the sub-district the roster belongs to")
@click.option("--commit", is_flag=True, help="apply the import (default: dry run, nothing written)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--create-parent", "create_parent", default=None,
              help='create the missing district/sub-district above the roster, e.g. "澄江区/映月街道"')
@domain_errors
def roster_import(file: Path, parent: str | None, commit: bool, as_json: bool, create_parent: str | None) -> None:
    """Import a roster from CSV (UTF-8/GB18030) or XLSX: a dry run unless --commit; all or nothing."""
    from core.domain.roster import RosterRejected, import_roster, resolve_parent
    from core.domain.roster_files import read_roster
    from core.db import db as database

    app = build_app()
    with app.app_context():
        session = database.session
        if create_parent:
            if not parent:
                raise click.UsageError("--create-parent needs --parent CODE (the sub-district's code)")
            from core.domain.reference import ensure_parent_path
            _, made = ensure_parent_path(session, parent, create_parent)
            if made:
                click.echo(f"{'created' if commit else 'would create'} {', '.join(made)}", err=True)
        parent_area = resolve_parent(session, parent)
        table = read_roster(file.read_bytes(), file.name)
        try:
            report = import_roster(session, table, parent_area, commit=commit, channel="cli",
                                   actor_label=CLI_ACTOR, region=app.config["GRIDPATROL_PHONE_REGION"])
        except RosterRejected as exc:
            session.rollback()
            report = {**exc.details, "committed": False}
        else:
            session.commit() if commit else session.rollback()  # a dry run keeps no --create-parent areas
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_roster_report(report, commit)
    if report["errors"]:
        sys.exit(1)


def _print_roster_report(report: dict, commit: bool) -> None:
    for skipped in report.get("sheets_skipped", []):
        click.echo(f"sheet {skipped['sheet']} skipped: {skipped['reason']}")
    for error in report["errors"]:
        value = f" [{error['value']}]" if error.get("value") else ""
        sheet = f"sheet {error['sheet']} " if error.get("sheet") else ""
        click.echo(f"{sheet}line {error['line']}: {error['field']}: {error['message']}{value}")
    changes = report.get("created") or report.get("would_create") or {}
    verb = "imported" if report.get("committed") else ("nothing imported" if commit else "dry run")
    if report["errors"]:
        click.echo(f"{verb}: {len(report['errors'])} error(s) in {report['rows']} row(s)")
        return
    click.echo(f"{verb}: {report['rows']} row(s); communities +{len(changes.get('communities', []))}, "
               f"grids +{len(changes.get('grids', []))}, members +{len(changes.get('members', []))}, "
               f"assignments +{changes.get('assignments', 0)}, unchanged {report.get('unchanged', 0)}")
    if not commit:
        click.echo("run again with --commit to apply")


# ---------------------------------------------------------------- device
@main.group()
def device() -> None:
    """Patrollers' devices."""


@device.command("register")
@click.option("--phone", required=True, help="the member's phone number")
@click.option("--name", default="", help="a label for the device, e.g. 王芳的手机")
@domain_errors
def device_register(phone: str, name: str) -> None:
    """Register a device for an existing member and print its token once."""
    from core.domain import audit
    from core.domain.members import member_by_typed_phone
    from core.domain.tokens import register_device
    from core.domain.errors import Conflict
    from core.db import db as database

    app = build_app()
    with app.app_context():
        session = database.session
        member = member_by_typed_phone(session, phone, app.config["GRIDPATROL_PHONE_REGION"])
        if member.deleted_at is not None or not member.active:
            raise Conflict(f"{member.name} was removed or deactivated; a device for them would not work")
        record, token = register_device(session, member, name=name or f"{member.name}的手机")
        audit.record(session, "device.register", channel="cli", actor_label=CLI_ACTOR, entity="device",
                     entity_id=record.id, summary={"member_id": member.id, "name": record.name})
        session.commit()
        device_id, member_name = record.id, member.name
    click.echo(f"device {device_id} for {member_name} — token (shown once):", err=True)
    click.echo(token)


# ---------------------------------------------------------------- demo
@main.group()
def demo() -> None:
    """Demo data: an invented sub-district to try gridpatrol with."""


@demo.command("load")
@click.option("--json", "as_json", is_flag=True, help="print credentials, areas and people as JSON on stdout")
@domain_errors
def demo_load(as_json: bool) -> None:
    """Load the demo sub-district (refuses, changing nothing, when it is already loaded)."""
    from server.demo import DemoAlreadyLoaded, DemoRefused, load_demo
    from core.db import db as database

    app = build_app()
    with app.app_context():
        try:
            result = load_demo(database.session, channel="cli")
        except (DemoAlreadyLoaded, DemoRefused) as exc:
            raise click.ClickException(str(exc)) from exc
        database.session.commit()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(f"demo loaded: {len(result['areas'])} areas, {len(result['members'])} people")
        click.echo(f"admin token: {result['admin']['token']}")


# ---------------------------------------------------------------- serve
@main.command()
@click.option("--demo", "with_demo", is_flag=True, help="load the demo data into an empty database")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def serve(with_demo: bool, host: str, port: int) -> None:
    """Run on one machine: migrate, load the demo if asked, serve (threaded, jobs in-process)."""
    from server.embedded import prepare_embedded, run_embedded
    from server.migrate import UnversionedDatabase
    app = build_app(timers=True)  # the embedded run: the workers' periodic timer runs in this process
    try:
        banner = prepare_embedded(app, with_demo=with_demo, host=host, port=port)
    except UnversionedDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(banner)
    run_embedded(app, host, port)


def _add_feature_commands() -> None:
    """A group named like an existing group (the device client's and the patrol app's `device`, the
    reference data's and the SMS understanding's `areas` and `catalogue`) adds its subcommands to it
    instead of replacing it."""
    for module in FEATURE_COMMANDS:
        for command in getattr(module, "commands", []):
            existing = main.commands.get(command.name)
            if isinstance(existing, click.Group) and isinstance(command, click.Group):
                for name, sub in command.commands.items():
                    if name not in existing.commands:
                        existing.add_command(sub, name)
            else:
                main.add_command(command)


from server.cli import dashboard, patrol_app, reference, sms, sync, understanding, workers  # noqa: E402

FEATURE_COMMANDS = (reference, sync, sms, understanding, workers, patrol_app, dashboard)
_add_feature_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
