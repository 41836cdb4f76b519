"""Threat: floods that outrun the limits by arriving at once (hole 11): concurrent texts from one number,
concurrent logins for one phone. Both limits are atomic now (core/domain/ratelimit.py)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import pytest

from tests.support.api_helpers import as_

pytestmark = pytest.mark.both_databases  # the rate-limit counter is an ON CONFLICT upsert per dialect

SENDER = "+8613900001111"


def _text(app, i: int) -> str:
    from core.db import db
    from sms.inbound import receive
    with app.app_context():
        try:
            row = receive(db.session, message_sid=f"SMflood{i:04d}", sender=SENDER, body=f"查询 10{i:04d}",
                          config=dict(app.config))
            outcome = row.outcome
            db.session.commit()
            return outcome
        finally:
            db.session.remove()


def test_concurrent_texts_from_one_number_respect_the_limit(app, world):
    """60 concurrent texts with a limit of 20 acted on 27; now never more than the limit."""
    app.config["SMS_RATE_LIMIT_PER_HOUR"] = 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda i: _text(app, i), range(24)))
    acted = [o for o in outcomes if o != "rate_limited"]
    assert len(outcomes) == 24
    assert len(acted) == 5, outcomes


def test_concurrent_logins_get_at_most_the_allowed_password_checks(app, client, world):
    """64 concurrent logins made 11 password checks with a limit of 5; now at most 5."""
    as_(client, world, "admin").put(f"/members/{world.ids['c1_leader']}/password", {"password": "right-password"})

    def attempt(_):
        return app.test_client().post("/api/v1/auth/login",
                                      json={"phone": "+8617000000003", "password": "wrong-password"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(24)))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 19, statuses
