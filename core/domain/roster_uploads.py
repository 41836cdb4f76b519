"""Roster files kept between the dashboard's dry run and its commit, so the commit imports exactly the rows
that were checked.

A roster is names and phone numbers: the files are the owner's alone (folder 0700, files 0600, whatever the
umask), deleted as soon as the commit used them, and expire after ROSTER_UPLOAD_TTL_MINUTES (60) — a later
commit is refused and the periodic job `roster_uploads` (workers.jobs.purge_roster_uploads_job) deletes them.
"""
from __future__ import annotations

import os
import secrets
import time
from datetime import datetime
from pathlib import Path

from core.domain.errors import Invalid

FOLDER = "roster-uploads"
DEFAULT_TTL_MINUTES = 60


def _folder(instance_path) -> Path:
    path = Path(instance_path) / FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # a folder made by an older release (0755) is closed too
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def keep(instance_path, data: bytes, filename: str) -> str:
    """Store a checked upload; returns the token the commit form carries."""
    folder = _folder(instance_path)
    token = secrets.token_urlsafe(16)
    _write_private(folder / token, data)
    _write_private(folder / f"{token}.name", filename[-200:].encode("utf-8"))
    return token


def _paths(instance_path, token: str) -> tuple[Path, Path]:
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        raise _gone()
    folder = _folder(instance_path)
    return folder / token, folder / f"{token}.name"


def _gone() -> Invalid:
    return Invalid("the checked file is gone; upload it again", details={"file": ["Upload the roster again."]})


def take(instance_path, token: str, ttl_minutes: int = DEFAULT_TTL_MINUTES) -> tuple[bytes, str]:
    """(bytes, file name) of a kept upload that has not expired; Invalid (422) otherwise."""
    data_path, name_path = _paths(instance_path, token)
    try:
        if time.time() - data_path.stat().st_mtime > ttl_minutes * 60:
            discard(instance_path, token)
            raise _gone()
        return data_path.read_bytes(), name_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _gone() from None


def discard(instance_path, token: str) -> None:
    for path in _paths(instance_path, token):
        path.unlink(missing_ok=True)


def purge_expired(instance_path, now: datetime, ttl_minutes: int = DEFAULT_TTL_MINUTES) -> int:
    """Delete every kept upload older than the TTL at `now`; returns how many uploads went."""
    folder = Path(instance_path) / FOLDER
    if not folder.is_dir():
        return 0
    cutoff = now.timestamp() - ttl_minutes * 60
    deleted = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                deleted += not path.name.endswith(".name")
        except FileNotFoundError:  # a commit took it meanwhile
            continue
    return deleted
