import pytest


@pytest.fixture(autouse=True)
def _fresh_pairing_limiter():
    """Every test in this process pairs from 127.0.0.1: start each with a clean failed-attempts count."""
    from web.patrol_app.views import FAILED_PAIRINGS
    FAILED_PAIRINGS.clear()
    yield
    FAILED_PAIRINGS.clear()
