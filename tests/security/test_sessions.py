"""Threat: guessing a leader's password through the dashboard, and sign-ins that outlive 退出.

The dashboard's sign-in and its 修改密码 page check passwords through the same function as
POST /api/v1/auth/login (core.domain.logins): one per-phone lock, one count of failures, so concurrent
attempts get at most the limit of password checks on either surface or both together. Signing out ends
the sign-in on the server: a cookie saved before 退出 opens nothing afterwards."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.security.helpers import audit_entries, csrf_of, dashboard_login, set_password, signed_in_client

PHONE, RIGHT = "+8617000000003", "correct-horse-9"  # the world's community leader of HD03-1


def _dashboard_attempt(app, password: str) -> int:
    return dashboard_login(app.test_client(), PHONE, password).status_code


def _api_attempt(app, password: str) -> int:
    return app.test_client().post("/api/v1/auth/login", json={"phone": PHONE, "password": password}).status_code


def _checks(app) -> tuple[int, int]:
    """(failed password checks, successful ones) as the audit log kept them."""
    return len(audit_entries(app, "auth.login_failed")), len(audit_entries(app, "auth.login"))


def test_48_concurrent_dashboard_sign_ins_get_at_most_the_limit_of_password_checks(app, world):
    set_password(app, PHONE, RIGHT)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _dashboard_attempt(app, "wrong-password"), range(48)))
    assert statuses.count(401) == 5 and statuses.count(429) == 43, statuses
    assert _checks(app) == (5, 0)
    assert _dashboard_attempt(app, RIGHT) == 429  # the right password beyond the limit is throttled too


def test_right_passwords_inside_a_flood_are_throttled_once_the_limit_is_reached(app, world):
    set_password(app, PHONE, RIGHT)
    passwords = [RIGHT if n in (20, 40, 63) else "wrong-password" for n in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda p: _dashboard_attempt(app, p), passwords))
    failed, succeeded = _checks(app)
    assert failed == 5 and statuses.count(401) == 5, statuses
    assert succeeded == statuses.count(302) <= 3  # a right one before the fifth failure signs in; none after
    assert _dashboard_attempt(app, RIGHT) == 429


def test_the_api_and_the_dashboard_share_one_limit(app, world):
    set_password(app, PHONE, RIGHT)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: (_api_attempt if n % 2 else _dashboard_attempt)(app, "wrong-password"),
                                 range(32)))
    assert statuses.count(401) == 5 and statuses.count(429) == 27, statuses


def test_a_cookie_saved_before_signing_out_opens_nothing_afterwards(app, world):
    client = signed_in_client(app, PHONE, RIGHT)
    assert client.get("/dashboard/problems").status_code == 200
    saved = client.get_cookie("session").value
    csrf = csrf_of(client, "/dashboard/password")
    assert client.post("/dashboard/logout", data={"csrf_token": csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", saved)
    answer = thief.get("/dashboard/problems")
    assert answer.status_code == 302 and "/dashboard/login" in answer.headers["Location"]
    refused = thief.post("/dashboard/password", data={"csrf_token": csrf, "current": RIGHT, "new": "x" * 12,
                                                      "again": "x" * 12})
    assert refused.status_code == 401
    assert [e for e in audit_entries(app, "auth.logout")] == [{}]
    # signing in again works, and the sign-in before it stays ended
    assert dashboard_login(thief, PHONE, RIGHT).status_code == 302
    stale = app.test_client()
    stale.set_cookie("session", saved)
    assert stale.get("/dashboard/problems").status_code == 302


def test_the_current_password_check_is_throttled_and_audited(app, world):
    client = signed_in_client(app, PHONE, RIGHT)
    csrf = csrf_of(client, "/dashboard/password")
    guesses = [{"csrf_token": csrf, "current": f"guess-{n}", "new": "new-password-1", "again": "new-password-1"}
               for n in range(40)]
    statuses = [client.post("/dashboard/password", data=guess).status_code for guess in guesses]
    assert statuses.count(400) == 5 and statuses.count(429) == 35, statuses
    right = client.post("/dashboard/password", data={"csrf_token": csrf, "current": RIGHT, "new": "new-password-1",
                                                     "again": "new-password-1"})
    assert right.status_code == 429  # the 41st, right, does not change the password
    assert len(audit_entries(app, "auth.password_check_failed")) == 5
    assert not audit_entries(app, "member.password_change")
    # the same guesses through the API's own-password change count against the same limit
    from tests.security.helpers import token_for
    from tests.support.api_helpers import As
    token = token_for(app.test_client(), world, world.ids["c1_leader"])
    api = As(app.test_client(), token).put(f"/members/{world.ids['c1_leader']}/password",
                                           {"password": "new-password-2", "current_password": RIGHT})
    assert api.status_code == 429 and api.get_json()["error"] == "rate_limited"
