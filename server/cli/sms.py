"""`gridpatrol sms ...` subcommands. The CLI adds every click command listed in `commands`.

They take their app from the CLI's ScriptInfo (`flask.cli.with_appcontext`), like every feature command.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from core.db import db
from core.jobs.runner import get_runner
from core.models import new_uuid
from sms.inbound import receive
from sms.outbox import queue_message
from sms.sweep import sweep_sms

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


@click.group("sms", help="SMS gateway: outbox sweeps, a local simulator, test sends.")
def sms_group():
    pass


@sms_group.command("sweep", help="Expire stale outbox rows, re-enqueue stuck ones and file accepted texts a lost "
                                  "job left (run every minute).")
@with_appcontext
def sweep_command():
    counts = sweep_sms(db.session)
    db.session.commit()
    click.echo(f"expired {counts['expired']}, enqueued {counts['enqueued']}, texts filed again "
               f"{counts['texts_refiled']}")


@sms_group.command("replay-spool", help="Store the texts spooled while the database was down (sms/spool.py).")
@with_appcontext
def replay_spool_command():
    from sms import spool
    counts = spool.replay(current_app._get_current_object())
    click.echo(f"replayed {counts['replayed']}, already stored {counts['already_stored']}, "
               f"unreadable {counts['bad_lines']}, still waiting {counts['left']}"
               + (" (another replay is running)" if counts.get("busy") else ""))


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


@sms_group.command("status", help="Each SMS provider: up or down, last heartbeat, queue depth, last error.")
@click.option("--probe", is_flag=True, help="also ask each provider's API now (the phone's /health)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@with_appcontext
def status_command(probe: bool, as_json: bool):
    import json
    from core.db import db
    from sms.providers import get_provider
    from sms.routing import provider_states
    states = provider_states(db.session, current_app._get_current_object())
    if probe:
        for state in states:
            provider = get_provider(current_app._get_current_object(), state["name"])
            try:
                state["probe"] = provider.probe() if hasattr(provider, "probe") else {"status": "n/a"}
            except Exception as exc:  # noqa: BLE001 - report, never crash the status command
                state["probe"] = {"status": "fail", "error": str(exc)}
    if as_json:
        click.echo(json.dumps(states, ensure_ascii=False, indent=2))
        return
    for s in states:
        flag = "up" if s["up"] else f"DOWN ({s['down_reason']})"
        click.echo(f"{s['name']:8} {'/'.join(s['roles']):14} {flag:18} queue {s['queue_depth']:<6} "
                   f"heartbeat {s['last_heartbeat_at'] or '-'}  last error {s['last_error'] or '-'}"
                   + (f"  probe {s['probe'].get('status')}" if probe else ""))


commands = [sms_group]
