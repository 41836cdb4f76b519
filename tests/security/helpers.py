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
