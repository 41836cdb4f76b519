"""`gridpatrol sms ...` subcommands. The CLI adds every click command listed in `commands`.

They take their app from the CLI's ScriptInfo (`flask.cli.with_appcontext`), like every feature command.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from server.extensions import db
from server.jobs.runner import get_runner
from server.models import new_uuid
from sms.inbound import receive
from sms.outbox import queue_message, sweep_outbox


@click.group("sms", help="SMS gateway: outbox sweeps, a local simulator, test sends.")
def sms_group():
    pass


@sms_group.command("sweep", help="Expire stale outbox rows and re-enqueue stuck ones (run every minute).")
@with_appcontext
def sweep_command():
    counts = sweep_outbox(db.session)
    db.session.commit()
    click.echo(f"expired {counts['expired']}, enqueued {counts['enqueued']}")


@sms_group.command("simulate", help="Process a text as if it came from PHONE (no Twilio, no signature).")
@click.argument("phone")
@click.argument("text")
@with_appcontext
def simulate_command(phone: str, text: str):
    row = receive(db.session, message_sid="SIM" + new_uuid().replace("-", ""), sender=phone, body=text,
                  config=current_app.config)
    db.session.commit()
    click.echo(f"[{row.command}/{row.outcome}] {row.reply or '(no reply)'}")


@sms_group.command("send", help="Queue one text through the outbox (idempotent by --key).")
@click.argument("phone")
@click.argument("text")
@click.option("--key", required=True, help="idempotency key, e.g. manual:2026-11-22:1")
@with_appcontext
def send_command(phone: str, text: str, key: str):
    message = queue_message(db.session, to=phone, body=text, key=key, purpose="manual")
    db.session.commit()
    get_runner().wait(timeout=30)  # embedded mode: the send runs in this process; RQ: a worker sends it
    db.session.refresh(message)
    click.echo(f"{message.key}: {message.state} ({message.encoding}, {message.segments} segment(s))")


commands = [sms_group]
