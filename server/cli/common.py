"""What every `gridpatrol` command shares: the app it builds (configuration from the environment, like
gunicorn and the workers), the audit actor "cli", domain errors as one-line messages, and finishing the jobs
a command queued before the process exits."""
from __future__ import annotations

import json
from functools import wraps

import click
from flask import Flask
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError

from core.domain.errors import DomainError
from core.settings import ConfigError
from server import create_app

CLI_ACTOR = "cli"


def build_app(*, timers: bool = False, **overrides) -> Flask:
    """The app for one command. Commands other than `serve` do their work and exit, so the workers
    feature's in-process periodic timer stays off for them (it would scan mid-import or mid-migration)."""
    if not timers:
        overrides.setdefault("WORKERS_EMBEDDED_TIMER", False)
    try:
        app = create_app(overrides)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    _BUILT_APPS.append(app)
    return app


_BUILT_APPS: list[Flask] = []


def drain_runners(timeout: float = 300.0) -> int:
    """Finish the jobs the command queued on the in-process runner before the interpreter shuts down
    (its thread pool refuses new work at shutdown: texts were lost and a traceback printed). Says how
    many it left; those are picked up by the outbox sweep of the next run."""
    left = 0
    while _BUILT_APPS:
        app = _BUILT_APPS.pop()
        runner = app.extensions.get("gridpatrol.runner")
        if runner is not None and getattr(runner, "name", "") == "inprocess":
            left += runner.drain(timeout)
    if left:
        click.echo(f"{left} background job(s) left unfinished; the outbox sweep (`gridpatrol sms sweep`) "
                   "picks their texts up", err=True)
    return left


def domain_errors(fn):
    """Domain errors (bad phone, unknown area …) become a one-line message and exit status 1, not a traceback."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            detail = f" {json.dumps(exc.details, ensure_ascii=False)}" if exc.details else ""
            raise click.ClickException(f"{exc.message}{detail}") from exc
        except IntegrityError as exc:
            raise click.ClickException(f"this would duplicate an existing record ({type(exc.orig).__name__})") from exc
        except DataError as exc:  # a value the database cannot hold that no check caught first
            raise click.ClickException(f"a value is too long or out of range ({str(exc.orig).strip().splitlines()[0]})"
                                       ) from exc
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(
                f"the database refused the command ({str(exc.orig).strip().splitlines()[0]}); is it reachable, "
                "and migrated with `gridpatrol db upgrade`?") from exc
    return wrapper
