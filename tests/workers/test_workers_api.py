"""Worker health, the alerts list, 收到 through the API, the admin-only RQ dashboard, `gridpatrol alerts run`,
and the embedded timer's once-per-period claim."""
import base64

import pytest
from click.testing import CliRunner

from core.domain.alerts import acknowledge_alert
from core.domain.patrol_windows import plan_windows
from core.domain.missed_patrols import scan_missed_patrols
from tests.support.workers_helpers import add_schedule, alerts, call, local, windows


@pytest.fixture
def missed(session, w):
    add_schedule(session, w.g11)
    plan_windows(session, local(2026, 11, 23, 7, 0))
    session.commit()
    scan_missed_patrols(session, local(2026, 11, 23, 12, 15))
    alerts(session)  # waits for the in-process delivery of what the scan left pending
    return w


def test_health_lists_periodic_jobs_and_needs_admin(client, world, missed):
    from workers.jobs import overdue_job
    overdue_job(local(2026, 11, 23, 12, 15))
    body = call(client, "get", "/api/v1/workers/health", world.tokens["admin"]).get_json()
    assert body["runner"] == "inprocess" and body["redis"] == {"configured": False}
    periodic = {p["name"]: p for p in body["periodic"]}
    assert set(periodic) == {"plan_windows", "missed_patrols", "overdue", "release_held", "daily_digest",
                             "weekly_report", "sms_sweep", "sms_spool", "roster_uploads"}
    assert periodic["overdue"]["last_status"] == "ok" and periodic["overdue"]["runs"] == 1
    assert periodic["overdue"]["last_now"].startswith("2026-11-23T04:15")
    assert periodic["missed_patrols"]["last_finished_at"] is None  # scanned directly, not as a job
    assert body["alerts"]["queued"] == 2
    refused = call(client, "get", "/api/v1/workers/health", world.tokens["c1_leader"])
    assert refused.status_code == 403 and refused.get_json()["error"] == "role_not_permitted"


def test_alert_list_is_scoped_and_acknowledge_by_api(client, session, world, missed):
    mine = call(client, "get", "/api/v1/workers/alerts?mine=true", world.tokens["g11_leader"]).get_json()
    assert mine["total"] == 1 and mine["items"][0]["rule"] == "missed"
    other = call(client, "get", "/api/v1/workers/alerts", world.tokens["c2_leader"]).get_json()
    assert other["total"] == 0  # HD03-2's leader does not see HD03-1's alerts
    community = call(client, "get", "/api/v1/workers/alerts", world.tokens["c1_leader"]).get_json()
    assert community["total"] == 2
    alert_id = mine["items"][0]["id"]
    patroller_alert = next(a["id"] for a in community["items"] if a["id"] != alert_id)
    forbidden = call(client, "post", f"/api/v1/workers/alerts/{patroller_alert}/acknowledge",
                     world.tokens["g11_leader"])
    assert forbidden.status_code in (403, 404)
    done = call(client, "post", f"/api/v1/workers/alerts/{alert_id}/acknowledge", world.tokens["g11_leader"])
    assert done.status_code == 200 and done.get_json()["acknowledged"][0]["id"] == alert_id
    assert windows(session, missed.g11)[0].state == "acknowledged"
    again = call(client, "post", "/api/v1/workers/alerts/acknowledge", world.tokens["g11_leader"], json={})
    assert again.get_json() == {"acknowledged": []}  # nothing left to acknowledge
    bad = call(client, "post", "/api/v1/workers/alerts/acknowledge", world.tokens["g11_leader"], json={"x": 1})
    assert bad.status_code == 422


def test_acknowledge_alert_domain_function_for_the_sms_reply(session, missed):
    w = missed
    assert acknowledge_alert(session, w.c2_leader, now=local(2026, 11, 23, 12, 30)) == []  # nothing of theirs
    done = acknowledge_alert(session, w.patroller, now=local(2026, 11, 23, 12, 30))
    session.commit()
    assert len(done) == 1 and alerts(session, member_id=w.patroller.id)[0].acknowledged_at is not None
    assert windows(session, w.g11)[0].state == "missed"  # a patroller's 收到 does not stop the escalation


def test_rq_dashboard_is_admin_only(tmp_path, db_url, redis_url):
    from core.db import db
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    app = make_app(db_url, tmp_path, REDIS_URL=redis_url)
    with app.app_context():
        reset_database(db)
        world = build_world(db.session)
        db.session.commit()
    client = app.test_client()
    anonymous = client.get("/admin/rq/")
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    leader = client.get("/admin/rq/", headers={"Authorization": f"Bearer {world.tokens['c1_leader']}"})
    assert leader.status_code == 403
    basic = base64.b64encode(f"admin:{world.tokens['admin']}".encode()).decode()
    page = client.get("/admin/rq/", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200 and b"RQ" in page.data
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_cli_alerts_run_for_a_moment_twice(app, session, missed):
    from server.cli.workers import alerts_group
    runner = CliRunner()
    moment = "2026-11-23T13:30:00+08:00"
    first = runner.invoke(alerts_group, ["run", "--now", moment], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert '"missed_patrols"' in first.output and '"escalated": 1' in first.output
    before = len(alerts(session))
    second = runner.invoke(alerts_group, ["run", "--now", moment])
    assert second.exit_code == 0 and len(alerts(session)) == before  # safe to repeat
    bad = runner.invoke(alerts_group, ["run", "--now", "yesterday-ish"])
    assert bad.exit_code != 0 and "not an ISO time" in bad.output


def test_embedded_timer_claims_each_period_once(app, session):
    from workers.periodic import run_embedded_once
    first = run_embedded_once(app, local(2026, 11, 23, 12, 15))
    second = run_embedded_once(app, local(2026, 11, 23, 12, 15).replace(second=30))  # same periods, another process
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    later = run_embedded_once(app, local(2026, 11, 23, 12, 20))
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert set(first) == {"plan_windows", "missed_patrols", "overdue", "release_held", "daily_digest",
                          "weekly_report", "sms_sweep", "sms_spool", "roster_uploads"}
    assert second == [] and set(later) == {"missed_patrols", "overdue", "release_held", "sms_sweep", "sms_spool",
                                           "roster_uploads"}


def test_windows_endpoint_shows_schedule_and_state(client, session, world, missed):
    body = call(client, "get", "/api/v1/workers/windows?area=HD03-1-1&date=2026-11-23",
                world.tokens["c1_leader"]).get_json()
    assert body["timezone"] == "Asia/Shanghai"
    assert [(w["label"], w["state"]) for w in body["windows"]] == [("08:00-12:00", "missed"), ("14:00-18:00", "open")]
    assert body["windows"][0]["starts_at"].startswith("2026-11-23T00:00")
    other = call(client, "get", "/api/v1/workers/windows?area=HD03-1-1&date=2026-11-23", world.tokens["c2_leader"])
    assert other.status_code == 403
    bad = call(client, "get", "/api/v1/workers/windows?area=HD03-1-1&date=tomorrow", world.tokens["c1_leader"])
    assert bad.status_code == 422


def test_hourly_planning_skips_when_nothing_changed(app, session, w):
    from workers.jobs import plan_windows_job
    add_schedule(session, w.c1)
    first = plan_windows_job(local(2026, 11, 23, 7, 0))
    again = plan_windows_job(local(2026, 11, 23, 8, 0))
    w.c1.name = "映月社区（改）"  # any roster edit moves updated_at
    session.commit()
    changed = plan_windows_job(local(2026, 11, 23, 9, 0))
    next_day = plan_windows_job(local(2026, 11, 24, 7, 0))
    assert first["inserted"] == 8 and again == {**again, "skipped": True}
    assert "skipped" not in changed and "skipped" not in next_day and next_day["inserted"] == 4


def test_testing_apps_start_no_timer(app):
    assert "gridpatrol.timer" not in app.extensions
