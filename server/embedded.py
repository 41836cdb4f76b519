"""The embedded run (`gridpatrol serve`): one process, one SQLite file, jobs on in-process threads.

Made for a trial on one machine and for the README's first command. Without REDIS_URL the workers
feature's `init_app` starts its in-process periodic timer (unless WORKERS_EMBEDDED_TIMER is off); other CLI
commands build their app with the timer off. Production runs gunicorn + RQ workers instead
(see docs/operations.md).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from server.migrate import current_revisions, record_migration, seed_after_upgrade, upgrade_database
from server.demo import DEMO_SUBDISTRICT, demo_admin, demo_is_loaded, load_demo
from core.domain import audit
from core.domain.tokens import issue_staff_token
from core.db import db
from core.models import Area, Member

CREDENTIALS_FILE = "demo-credentials.json"


def prepare_embedded(app: Flask, *, with_demo: bool, host: str, port: int) -> str:
    """Migrate, load the demo into an empty database if asked, and return the banner to print."""
    before = current_revisions(app)
    heads = upgrade_database(app)  # UnversionedDatabase propagates: `serve` reports it and stops
    record_migration(app, "db.upgrade", before, heads)
    seed_after_upgrade(app)  # the standard catalogue, as `gridpatrol db upgrade` does
    token, note = None, ""
    with app.app_context():
        session = db.session
        if with_demo and not demo_is_loaded(session) and _is_empty(session):
            result = load_demo(session, channel="cli")
            session.commit()
            token = result["admin"]["token"]
            path = Path(app.config["INSTANCE_PATH"]) / CREDENTIALS_FILE
            path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            os.chmod(path, 0o600)
            note = f"demo loaded; every token (admin, leaders, patrollers' devices) is in {path}"
        elif with_demo and demo_is_loaded(session) and demo_admin(session) is not None:
            # Tokens are stored hashed, so the first run's cannot be shown again: issue a fresh one.
            admin = demo_admin(session)
            _, token = issue_staff_token(session, admin, name="serve")
            audit.record(session, "token.issue", channel="cli", actor_label="serve", entity="member",
                         entity_id=admin.id, summary={"reason": "serve --demo banner"})
            session.commit()
            note = f"demo already loaded ({DEMO_SUBDISTRICT}); issued a new admin token"
        elif with_demo:
            note = "the database already holds data, so the demo was not loaded"
    url = f"http://{host}:{port}"
    lines = [
        "gridpatrol — 网格巡查 (embedded mode: one process, in-process jobs, "
        f"SMS backend {app.config['SMS_BACKEND']})",
        f"  database: {app.config['SQLALCHEMY_DATABASE_URI']} at {', '.join(heads)}",
        f"  serving:  {url}   health: {url}/healthz   OpenAPI: {url}/api/openapi.json",
        f"  leaders' dashboard: {url}/dashboard/"
        + ("   (demo leaders' password: yingyue-demo; phones in the credentials file)" if with_demo else ""),
    ]
    if note:
        lines.append(f"  {note}")
    if token:
        lines += [f"  token to try (admin): {token}",
                  f"  try: curl -H 'Authorization: Bearer {token}' {url}/api/v1/areas"]
    else:
        lines.append("  no token shown: create one with `gridpatrol admin create --name NAME --phone PHONE`")
    return "\n".join(lines)


def _is_empty(session) -> bool:
    return session.scalar(select(Area.id).limit(1)) is None and session.scalar(select(Member.id).limit(1)) is None


def run_embedded(app: Flask, host: str, port: int) -> None:
    """Werkzeug's threaded server: fine for a trial on one box, not for production traffic."""
    # local: only the embedded server runs it
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
