"""Fixtures for the workers' tests: `w`, the suite's world with the names the planning and scan tests use."""
from __future__ import annotations

import pytest

from tests.support.workers_helpers import load_world


@pytest.fixture
def w(session, world):
    return load_world(session, world)
