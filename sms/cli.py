"""`gridpatrol sms ...` subcommands. The CLI adds every click command listed in `commands`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("sms", help="SMS gateway: outbox sweeps and a local inbound simulator.")
def sms_group():
    pass


@sms_group.command("sweep", help="Expire stale outbox rows and re-enqueue stuck ones (run every minute).")
@with_appcontext
def sweep_command():
    from server.extensions import db
    from sms.outbox import sweep_outbox
    counts = sweep_outbox(db.session)
    db.session.commit()
    click.echo(f"expired {counts['expired']}, enqueued {counts['enqueued']}")


commands = [sms_group]
