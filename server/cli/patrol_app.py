"""`gridpatrol device pair`: a one-time code (and link, and QR) a patroller's phone exchanges for its token."""
from __future__ import annotations

import json

import click

from server.cli.common import CLI_ACTOR, build_app, domain_errors

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


@click.group("device")
def device():
    """Patrollers' devices."""


@device.command("pair")
@click.option("--phone", required=True, help="the member's phone number")
@click.option("--json", "as_json", is_flag=True, help="print code, link and expiry as JSON")
@click.option("--base-url", default=None, help="public base URL for the link (default GRIDPATROL_PUBLIC_BASE_URL)")
@domain_errors
def device_pair(phone: str, as_json: bool, base_url: str | None) -> None:
    """Issue a one-time pairing code (valid 24 h) and print the code, the link and a QR of the link."""
    from core.domain.members import member_by_typed_phone
    from core.domain.pairing import issue_pairing_code, pairing_qr_text
    from core.db import db as database

    app = build_app()
    with app.app_context():
        session = database.session
        member = member_by_typed_phone(session, phone, app.config["GRIDPATROL_PHONE_REGION"])
        issued = issue_pairing_code(session, member, actor=None, actor_label=CLI_ACTOR, channel="cli")
        session.commit()
        base = (base_url or app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8080").rstrip("/")
        name = member.name
    link = base + issued.path
    if as_json:
        click.echo(json.dumps({"code": issued.code, "link": link, "path": issued.path, "member_id": issued.member_id,
                               "member": name, "expires_at": issued.expires_at.isoformat()}, ensure_ascii=False))
        return
    click.echo(f"pairing code for {name}: {issued.code}  (valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, once)")
    click.echo(f"link: {link}")
    click.echo(pairing_qr_text(link))


commands = [device]
