"""Dashboard tests: the demo sub-district, with today's patrol windows planned, behind a live server."""
from __future__ import annotations

import pytest

from tests.support.databases import data_set


@pytest.fixture(autouse=True)
def _fresh_sms_caches():
    """The SMS path caches the catalogue, lexicon and gazetteer per process and database URL for 30 s; the
    PostgreSQL database keeps its URL between tests, so a word one test taught would leak into the next."""
    from sms.commands import clear_caches
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def browser_context_options() -> dict:
    """Laptop-sized by default; the phone check asks for its own context."""
    return {"locale": "zh-CN", "viewport": {"width": 1366, "height": 900}, "device_scale_factor": 1,
            "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def demo(app):
    """The demo, planned and patrolled: built once per database per test process, then written back from
    memory for each test (rebuilt when a moment it holds, such as a window's end, has passed since)."""
    return data_set(app, "dashboard-demo", lambda: build_patrolled_demo(app))


def build_patrolled_demo(app) -> dict:
    from datetime import timedelta

    from server.demo import load_demo
    from core.db import db
    from core.models import utcnow
    from core.domain.patrol_windows import plan_windows
    with app.app_context():
        out = load_demo(db.session)
        plan_windows(db.session, utcnow() - timedelta(days=1))  # yesterday's windows too: a week has begun
        plan_windows(db.session, utcnow())
        db.session.commit()
        patrol_the_demo(db.session, app.config)
    return out


def patrol_the_demo(session, config) -> None:
    """A believable day: most windows that have ended were patrolled, every seventh grid missed its windows,
    one grid patrolled late; a resident texted a report; then the workers' scan judged the windows (and
    raised the missed-patrol alerts)."""
    from datetime import timedelta

    from sqlalchemy import select

    from core.domain.patrols import create_patrol
    from core.models import Area, Assignment, utcnow
    from sms.inbound import receive
    from core.models.alerts import PatrolWindow
    from core.domain.missed_patrols import scan_missed_patrols

    now = utcnow()
    grids = {a.id: a for a in session.scalars(select(Area).where(Area.kind == "grid").order_by(Area.id))}
    patroller = {a.area_id: a.member for a in session.scalars(select(Assignment).where(Assignment.role == "patroller"))}
    ended = session.scalars(select(PatrolWindow).where(PatrolWindow.ends_at <= now).order_by(PatrolWindow.id)).all()
    for window in ended:
        index = list(grids).index(window.area_id)
        if index % 7 == 3:
            continue  # missed
        start = window.ends_at + timedelta(minutes=20) if index % 11 == 5 else window.starts_at + timedelta(minutes=30)
        if start > now:
            continue
        create_patrol(session, member=patroller[window.area_id], area=grids[window.area_id], started_at=start,
                      ended_at=start + timedelta(minutes=40) if start + timedelta(minutes=40) <= now else None)
    session.commit()
    receive(session, message_sid="SMdashboarddemo0001", sender="+8617009990002", body="举报 烧煤 映月路20号",
            now=now - timedelta(minutes=30), config=config)
    session.commit()
    scan_missed_patrols(session, now)
    session.commit()


def sign_in(page, phone: str, password: str = "yingyue-demo") -> None:
    page.goto("/dashboard/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/dashboard/**")


def leader_of(demo: dict, area: str) -> dict:
    return next(e for e in demo["staff_tokens"] if e["area"] == area)
