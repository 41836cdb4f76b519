"""Threat: what the service leaves lying around. The public /healthz named the office phone's API address
and its SIM number (the detail belongs to the admins' worker health); roster dry-run uploads (names and
phones) stayed in the instance folder, readable by every local user, until someone committed them."""
from __future__ import annotations

import io
import re
import stat
from datetime import timedelta
from pathlib import Path


from tests.conftest import bearer
from tests.support.roster_helpers import GOOD_ROWS, csv_bytes
from tests.support.sms_fixtures import sms_world
from sms.providers.android.standin import ANDROID_NUMBER


def test_public_health_names_no_provider_address_or_number(android_app):
    world = sms_world(android_app)
    client = android_app.test_client()
    public = client.get("/healthz")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    digits = ANDROID_NUMBER.lstrip("+")
    assert digits[-8:] not in text and str(android_app.phone.port) not in text and "127.0.0.1" not in text
    android = next(p for p in public.get_json()["sms"] if p["name"] == "android")
    assert set(android) >= {"name", "up", "queue_depth"} and "provider" not in android and "last_error" not in android
    # An admin still sees everything, in the worker health.
    detailed = client.get("/api/v1/workers/health", headers=bearer(world.tokens["admin"])).get_json()
    provider = next(p for p in detailed["sms_providers"] if p["name"] == "android")["provider"]
    assert provider["number"] == ANDROID_NUMBER and provider["url"] == android_app.phone.base_url


def _token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _signed_in_admin(app):
    from core.domain.members import member_by_phone, set_password
    from core.db import db
    with app.app_context():
        set_password(member_by_phone(db.session, "+8617000000001"), "admin-password-1")
        db.session.commit()
    client = app.test_client()
    answer = client.post("/dashboard/login", data={"phone": "+8617000000001", "password": "admin-password-1",
                                                   "csrf_token": _token(client, "/dashboard/login")})
    assert answer.status_code == 302
    return client


def _dry_run(client) -> str:
    answer = client.post("/dashboard/people/roster", content_type="multipart/form-data", data={
        "parent": "HD03", "csrf_token": _token(client, "/dashboard/people/roster?parent=HD03"),
        "file": (io.BytesIO(csv_bytes(GOOD_ROWS)), "花名册.csv")})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return re.search(r'name="token" value="([^"]+)"', answer.get_data(as_text=True)).group(1)


def _commit(client, token: str):
    return client.post("/dashboard/people/roster/commit", data={
        "parent": "HD03", "token": token, "csrf_token": _token(client, "/dashboard/people/roster?parent=HD03")})


def test_roster_uploads_are_private_and_deleted_after_use_or_expiry(app, world):
    client = _signed_in_admin(app)
    folder = Path(app.config["INSTANCE_PATH"]) / "roster-uploads"
    token = _dry_run(client)
    kept = sorted(folder.iterdir())
    assert kept and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept)  # names and phones: owner only
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert _commit(client, token).status_code == 302
    assert list(folder.iterdir()) == []  # used: gone
    # A dry run nobody commits expires; the periodic clean-up deletes it, and a late commit is refused.
    token = _dry_run(client)
    from workers.jobs import purge_roster_uploads_job
    with app.app_context():
        from core.models import utcnow
        assert purge_roster_uploads_job(utcnow())["deleted"] == 0  # not yet expired
        assert purge_roster_uploads_job(utcnow() + timedelta(hours=2))["deleted"] >= 1
    assert list(folder.iterdir()) == []
    assert _commit(client, token).status_code == 422  # the checked file is gone: upload it again
