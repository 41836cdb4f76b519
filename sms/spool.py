"""The durable inbound-SMS spool: a text that arrives while the database is down is not lost.

Providers do not redeliver a webhook we answered with an error (Twilio never retries a 500 or 503), so an
inbound text that cannot reach the database is appended to a local file in the instance folder — one JSON
line, written with O_APPEND under an exclusive lock and fsync'ed before the webhook answers — and the sender
is told the text is saved. `replay_spool` (a periodic job, and `gridpatrol sms replay-spool`) feeds every
spooled text through `sms.inbound.receive` once the database answers again. The provider's message id
(Twilio's MessageSid) stays the idempotency key: a line replayed twice, or a text that reached the
database after all, is recognised by `receive` and runs its command once; the real reply (ticket number …)
goes out through the outbox under the text's one reply key (`reply:<sid>`, as when a job files it), so it is
sent once too. A provider event id travels with the line and is recorded at the replay, so the same event
delivered again later is answered `duplicate`. A PIN is masked in the line (sms/pin.py), the original sealed.

Replay claims the spool by renaming it under the same lock the writers take (no line is half-written at
that moment), then works through the claimed file and deletes it when every line is stored. A crash or a
second outage mid-file leaves the claimed file for the next run. One replayer at a time per instance
folder (a second lock). Every process that takes webhooks must share the instance folder with a process
that runs the periodic jobs (web and workers on one box, or the web process's own timer).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.outages import describe_unavailable, is_unavailable
from core.db import db
from core.jobs.context import job_app
from core.domain.phones import mask_phone, try_normalize_phone
from core.jobs.runner import get_runner
from core.models import utcnow
from sms import templates as t
from sms.inbound import INSERT_EVENT, clean_text, find_inbound, receive, reply_key
from sms.models import SmsWebhookEvent
from sms.outbox import queue_message
from sms.pin import mask_pin, seal, unseal
from sms.providers import configured_names

log = logging.getLogger(__name__)

SPOOL_DIR = "sms-spool"
SPOOL_FILE = "inbound.jsonl"
CLAIMED_PREFIX = "replaying-"


# ---------------------------------------------------------------- the webhooks' side: spool when the database blinks

def spool_inbound(app, session: Session, exc: BaseException, *, provider: str, message_sid: str, sender: str,
                  to: str = "", body: str = "", event_id: str | None = None, config=None) -> str:
    """Called by a provider's webhook when `receive` could not reach the database: write the text to the
    durable spool and return the reply that acknowledges it. If even the spool cannot be
    written, re-raise: the webhook answers 503 and the provider may retry."""
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone
        pass
    try:
        append(app.config["INSTANCE_PATH"], provider=provider, message_sid=message_sid, sender=sender,
               to=to, body=body, received_at=utcnow(), event_id=event_id, secret=app.config["SECRET_KEY"])
    except OSError:
        log.exception("sms spool write failed")
        raise exc
    log.warning("sms in %s from %s spooled, database unavailable: %s", clean_text(message_sid, 64),
                mask_phone(try_normalize_phone(sender or "", app.config.get("GRIDPATROL_PHONE_REGION", "CN"))
                           or ""), describe_unavailable(exc))
    return t.render("system_error", app.config.get("GRIDPATROL_LOCALE", "zh"))


def after_stored(app) -> None:
    """After a text reached the database: if earlier ones wait in this host's spool, queue their replay."""
    if has_pending(app.config["INSTANCE_PATH"]):
        try:
            get_runner(app).enqueue("sms.spool.replay_spool_job", queue="sms")
        except Exception as exc:  # noqa: BLE001 - the periodic job replays it anyway
            log.warning("could not queue the spool replay: %s", type(exc).__name__)


def spool_dir(instance_path: str | os.PathLike) -> Path:
    path = Path(instance_path) / SPOOL_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(path: Path, blocking: bool = True):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append(instance_path, *, provider: str, message_sid: str, sender: str, to: str, body: str,
           received_at: datetime | None = None, event_id: str | None = None, secret: str = "") -> Path:
    """Write one inbound text durably. Returns once the line is on disk (fsync); raises OSError if not,
    and then the webhook must NOT acknowledge the text."""
    folder = spool_dir(instance_path)
    record = {"provider": provider, "message_sid": message_sid, "event_id": event_id, "from": sender, "to": to,
              "body": mask_pin(body), "sealed_body": seal(body, secret),
              "received_at": (received_at or datetime.now(timezone.utc)).isoformat()}
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    target = folder / SPOOL_FILE
    with _locked(folder / ".append.lock"):
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    return target


def pending_count(instance_path) -> int:
    folder = Path(instance_path) / SPOOL_DIR
    if not folder.is_dir():
        return 0
    total = 0
    for path in folder.glob("*.jsonl"):
        with open(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def has_pending(instance_path) -> bool:
    folder = Path(instance_path) / SPOOL_DIR
    return folder.is_dir() and any(p.stat().st_size for p in folder.glob("*.jsonl"))


def _claim(folder: Path) -> None:
    source = folder / SPOOL_FILE
    with _locked(folder / ".append.lock"):
        if source.exists() and source.stat().st_size:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            source.rename(folder / f"{CLAIMED_PREFIX}{stamp}-{os.getpid()}.jsonl")


def replay(app) -> dict:
    """Store every spooled text (oldest first). Returns counts; stops at the first database error."""
    folder = spool_dir(app.config["INSTANCE_PATH"])
    counts = {"replayed": 0, "already_stored": 0, "left": 0, "bad_lines": 0}
    try:
        with _locked(folder / ".replay.lock", blocking=False):
            _claim(folder)
            for path in sorted(folder.glob(f"{CLAIMED_PREFIX}*.jsonl")):
                try:
                    _replay_file(app, path, counts)
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    log.warning("spool replay paused, database unavailable: %s", describe_unavailable(exc))
                    break
    except BlockingIOError:
        return {**counts, "busy": True}
    counts["left"] = pending_count(app.config["INSTANCE_PATH"])
    if counts["replayed"] or counts["left"]:
        log.info("sms spool replay: %s", counts)
    return counts


def _replay_file(app, path: Path, counts: dict) -> None:
    with app.app_context():
        for raw in path.read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                received_at = datetime.fromisoformat(item["received_at"])
            except (ValueError, KeyError):
                counts["bad_lines"] += 1  # a torn last line after a crash mid-write; never acknowledged
                log.warning("sms spool %s: unreadable line skipped", path.name)
                continue
            sid = clean_text(item["message_sid"], 64)
            if find_inbound(db.session, sid) is not None:
                counts["already_stored"] += 1
                db.session.rollback()
                continue
            body = unseal(item.get("sealed_body"), app.config["SECRET_KEY"]) or item["body"]
            row = receive(db.session, message_sid=item["message_sid"], sender=item["from"], to=item.get("to", ""),
                          body=body, now=received_at, config=app.config)
            provider = item.get("provider")
            _record_event(provider, item.get("event_id"), row.id, received_at)
            if row.reply:  # leaves the way the text came in (the office phone's texts through the phone)
                queue_message(db.session, to=row.sender, body=row.reply, key=reply_key(sid),
                              purpose="reply", member_id=row.member_id, area_id=row.area_id,
                              route=provider if provider in configured_names(app.config) else None)
            try:
                db.session.commit()
            except IntegrityError:  # the phone delivered this very text again meanwhile: its job files it
                db.session.rollback()
                counts["already_stored"] += 1
                continue
            counts["replayed"] += 1
        db.session.remove()
    path.unlink()


def _record_event(provider: str | None, event_id: str | None, inbound_id: int, received_at: datetime) -> None:
    """The provider's event id, kept as if the webhook had stored it: the same delivery again is a duplicate."""
    if not provider or not event_id or db.session.scalar(select(SmsWebhookEvent.id).where(
            SmsWebhookEvent.provider == provider, SmsWebhookEvent.event_id == event_id)):
        return
    db.session.execute(INSERT_EVENT, {"provider": provider, "event_id": event_id, "event": "inbound",
                                      "received_at": received_at, "payload": None, "inbound_id": inbound_id})


def replay_spool_job(now=None) -> dict:
    """The periodic job (queue `sms`): replay this host's spool. Safe to run twice (MessageSid)."""
    app = job_app()
    if not has_pending(app.config["INSTANCE_PATH"]):
        return {"replayed": 0, "left": 0}
    return replay(app)
