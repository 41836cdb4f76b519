"""Threat: an attacker on the internet riding a logged-in admin's browser, and information leaks to the
wrong admin (hole 10): /admin/rq/ refused cross-site POSTs that empty queues; worker health shows area
admins no tracebacks or server paths."""
from __future__ import annotations

import base64

from tests.support.api_helpers import as_
from tests.security.helpers import area_admin


def test_rq_dashboard_refuses_cross_site_posts(tmp_path, db_url, redis_url):
    """Hole 10: Basic auth cached by the browser + no Origin check let any site POST to empty the queues."""
    from core.db import db
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    app = make_app(db_url, tmp_path, REDIS_URL=redis_url)
    with app.app_context():
        reset_database(db)
        world = build_world(db.session)
        db.session.commit()
    client = app.test_client()
    basic = {"Authorization": "Basic " + base64.b64encode(f"admin:{world.tokens['admin']}".encode()).decode()}
    url = "/admin/rq/queue/default/failed/empty"
    for origin in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"},
                   {"Referer": "https://evil.example/page"}):
        response = client.post(url, headers={**basic, **origin})
        assert response.status_code == 403, (origin, response.status_code)
        assert response.get_json()["error"] == "forbidden"
    same_site = client.post(url, headers={**basic, "Origin": "http://localhost"})
    assert same_site.status_code != 403
    assert client.get("/admin/rq/", headers=basic).status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_worker_health_shows_area_admins_no_tracebacks(app, client, world):
    """Hole 10: /api/v1/workers/health showed tracebacks with server paths to area admins."""
    from core.db import db
    from core.models.alerts import PeriodicRun
    trace = ('Traceback (most recent call last):\n  File "/opt/gridpatrol/lib/python3.11/site-packages/workers/'
             'scans.py", line 12, in scan\nValueError: bad value in /srv/secret/config.py')
    with app.app_context():
        db.session.add(PeriodicRun(name="missed_patrols", last_status="failed", last_error=trace, runs=1))
        db.session.commit()
    _, area_admin_client = area_admin(client, world)
    seen = area_admin_client.get("/api/v1/workers/health".removeprefix("/api/v1")).get_json()
    text = str(seen)
    assert "Traceback" not in text and "/opt/gridpatrol" not in text and "/srv/secret" not in text
    assert "ValueError" in text
    full = as_(client, world, "admin").get("/workers/health").get_json()
    assert "/opt/gridpatrol" in str(full)
