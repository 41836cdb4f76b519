"""Dashboard tests: the demo sub-district, with today's patrol windows planned, behind a live server."""
from __future__ import annotations

import pytest


@pytest.fixture
def browser_context_options() -> dict:
    """Laptop-sized by default; the phone check asks for its own context."""
    return {"locale": "zh-CN", "viewport": {"width": 1366, "height": 900}, "device_scale_factor": 1,
            "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def demo(app):
    from server.demo import load_demo
    from server.extensions import db
    from server.models import utcnow
    from workers.planning import plan_windows
    with app.app_context():
        out = load_demo(db.session)
        plan_windows(db.session, utcnow())
        db.session.commit()
    return out


def sign_in(page, phone: str, password: str = "yingyue-demo") -> None:
    page.goto("/dashboard/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/dashboard/**")


def leader_of(demo: dict, area: str) -> dict:
    return next(e for e in demo["staff_tokens"] if e["area"] == area)
