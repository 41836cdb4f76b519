"""Shared by the security tests: an area admin, tokens for a member, audit entries."""
from __future__ import annotations

from tests.support.api_helpers import As, as_


def new_member(client, world, name: str, phone: str, assignments: list[dict], by: str = "admin") -> dict:
    response = as_(client, world, by).post("/members", {"name": name, "phone": phone, "assignments": assignments})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def token_for(client, world, member_id: int) -> str:
    response = as_(client, world, "admin").post("/auth/tokens", {"member_id": member_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def area_admin(client, world, area: str = "HD03-1", phone: str = "+8617000000090") -> tuple[int, As]:
    """The admin of one subtree (`gridpatrol admin create --area …`) and a client acting as her."""
    member = new_member(client, world, f"{area}管理员", phone, [{"role": "admin", "area_code": area}])
    return member["id"], As(client, token_for(client, world, member["id"]))


def audit_entries(app, action: str) -> list[dict]:
    from core.db import db
    from core.models import AuditLog
    with app.app_context():
        return [a.summary for a in db.session.scalars(db.select(AuditLog).where(AuditLog.action == action)
                                                      .order_by(AuditLog.id))]


def set_password(app, phone: str, password: str) -> None:
    from core.domain.members import member_by_phone, set_password as set_it
    from core.db import db
    with app.app_context():
        set_it(member_by_phone(db.session, phone), password)
        db.session.commit()


def csrf_of(client, path: str = "/dashboard/login") -> str:
    import re
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def dashboard_login(client, phone: str, password: str):
    """One sign-in through the dashboard's form (CSRF token first, as a browser would)."""
    return client.post("/dashboard/login", data={"phone": phone, "password": password, "csrf_token": csrf_of(client)})


def signed_in_client(app, phone: str, password: str = "correct-horse-9"):
    """A test client signed in to the dashboard as the member with this phone (her password set first)."""
    set_password(app, phone, password)
    client = app.test_client()
    assert dashboard_login(client, phone, password).status_code == 302
    return client


class OtherProcess:
    """The same service in another process (gunicorn, one worker) on the test's database: what a second
    server or worker sees. `with OtherProcess(app, tmp_path) as base: urlopen(base + ...)`."""

    def __init__(self, app, tmp_path, **env):
        self.app, self.tmp_path, self.env = app, tmp_path, env

    def __enter__(self) -> str:
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path
        from urllib.error import URLError
        from urllib.request import urlopen

        from tests.support.plain_install import free_port
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": "",
               "GRIDPATROL_INSTANCE": str(self.tmp_path / "other-process"), "GRIDPATROL_SMS_BACKEND": "console",
               "GRIDPATROL_WORKERS_EMBEDDED_TIMER": "false", "GRIDPATROL_LOG_LEVEL": "WARNING", **self.env}
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "-b",
                                         f"127.0.0.1:{port}", "server:create_app()"], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                with urlopen(base + "/healthz", timeout=2):
                    return base
            except (URLError, OSError):
                time.sleep(0.2)
        raise AssertionError("gunicorn did not come up")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    import json
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen
    request = Request(url, data=json.dumps(body).encode(), method="POST",
                      headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())
