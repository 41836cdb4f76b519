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
    from server.extensions import db
    from server.models import AuditLog
    with app.app_context():
        return [a.summary for a in db.session.scalars(db.select(AuditLog).where(AuditLog.action == action)
                                                      .order_by(AuditLog.id))]


def set_password(app, phone: str, password: str) -> None:
    from server.domain.members import member_by_phone, set_password as set_it
    from server.extensions import db
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
