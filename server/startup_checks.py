"""What an operator must hear about at startup in production: an installation that looks up
but tells nobody anything. Logged loudly once per process and listed in GET /healthz as `warnings`.

- SMS on the console backend: alerts and replies are printed to a log, never sent.
- No active schedule anywhere: no patrol window is planned, so no missed-patrol alert ever fires.
- An empty (or fully disabled) catalogue: every report and `发现` text is refused.
- rq-dashboard asked for but not installed is only informational and not listed here.
"""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from core.db import db
from core.models import Category
from core.models.schedules import PatrolSchedule

log = logging.getLogger("gridpatrol.startup")


def configuration_warnings(app: Flask) -> list[str]:
    """Warnings that need no database."""
    warnings = []
    if app.config.get("GRIDPATROL_ENV") == "production" and app.config.get("SMS_BACKEND", "console") == "console":
        warnings.append("sms_console: GRIDPATROL_SMS_BACKEND is 'console': alerts and replies are only printed to "
                        "the log, nobody receives them (set GRIDPATROL_SMS_BACKEND=twilio)")
    return warnings


def data_warnings(session) -> list[str]:
    """Warnings about what the database holds (a few cheap COUNT queries)."""
    warnings = []
    schedule_filter = [PatrolSchedule.deleted_at.is_(None)] if hasattr(PatrolSchedule, "deleted_at") else []
    if not session.scalar(select(func.count()).select_from(PatrolSchedule).where(*schedule_filter)):
        warnings.append("no_schedule: no patrol schedule covers any grid, so no missed-patrol alert will ever fire "
                        "(POST /api/v1/schedules, or set GRIDPATROL_WORKERS_UNSCHEDULED_USE_DEFAULT=true)")
    if not session.scalar(select(func.count()).select_from(Category).where(
            Category.active.is_(True), Category.deleted_at.is_(None))):
        warnings.append("empty_catalogue: the problem catalogue is empty: every resident report is refused "
                        "(run `gridpatrol db upgrade`, or `gridpatrol catalogue add`)")
    return warnings


def current_warnings(app: Flask, session) -> list[str]:
    warnings = configuration_warnings(app)
    if app.config.get("GRIDPATROL_ENV") == "production":
        try:
            warnings += data_warnings(session)
        except Exception as exc:  # noqa: BLE001 - health reports the database separately
            warnings.append(_unchecked(exc))
    return warnings


def warn_at_startup(app: Flask) -> None:
    """Called by create_app in production: one WARNING line per problem, at every process start."""
    if app.config.get("GRIDPATROL_ENV") != "production" or app.config.get("TESTING_NO_STARTUP_CHECKS"):
        return

    with app.app_context():
        try:
            with Session(db.engine) as session:
                warnings = current_warnings(app, session)
        except Exception as exc:  # noqa: BLE001
            warnings = configuration_warnings(app) + [_unchecked(exc)]
    for warning in warnings:
        log.warning("PRODUCTION WARNING %s", warning)


def _unchecked(exc: BaseException) -> str:
    # Tables missing: a fresh database before `gridpatrol db upgrade`.
    if isinstance(exc, ProgrammingError) or "no such table" in str(exc):
        return "not_migrated: the database has no gridpatrol tables yet (run `gridpatrol db upgrade`)"
    return f"unchecked: the database did not answer ({type(exc).__name__})"
