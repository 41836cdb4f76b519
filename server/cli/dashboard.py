"""`gridpatrol password set --phone P`: an admin sets a leader's dashboard password from the server's shell.

The password is read from a hidden prompt (typed twice) or, for scripts, from --password-stdin; it never
appears in the shell history or the process list."""
from __future__ import annotations

import sys

import click

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


@click.group("password")
def password() -> None:
    """Dashboard passwords."""


@password.command("set")
@click.option("--phone", required=True, help="the member's phone number")
@click.option("--password-stdin", "from_stdin", is_flag=True, help="read the password from standard input")
def password_set(phone: str, from_stdin: bool) -> None:
    """Set (or reset) a member's dashboard password; the member changes it after signing in."""
    from server.cli.common import CLI_ACTOR, build_app
    from core.domain import audit
    from core.domain.members import member_by_typed_phone, set_password
    from core.domain.errors import DomainError
    from core.db import db

    if from_stdin:
        secret = sys.stdin.readline().rstrip("\n")
    else:
        secret = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    app = build_app()
    with app.app_context():
        try:
            member = member_by_typed_phone(db.session, phone, app.config["GRIDPATROL_PHONE_REGION"])
            if member.deleted_at is not None:
                raise click.ClickException(f"no member with phone {member.phone}")
            set_password(member, secret)
        except DomainError as exc:
            detail = "; ".join(" ".join(v) for v in exc.details.values() if isinstance(v, list))
            raise click.ClickException(exc.message + (f": {detail}" if detail else "")) from exc
        audit.record(db.session, "member.password_set", channel="cli", actor_label=CLI_ACTOR, entity="member",
                     entity_id=member.id)
        db.session.commit()
        name = member.name
    click.echo(f"password set for {name}")


commands = [password]
