"""Random bodies against the write endpoints: whatever arrives, the answer is never a 500."""
import json
import os
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.api_helpers import as_, module_world
from tests.conftest import bearer

pytestmark = pytest.mark.both_databases  # random bodies reach each database's own errors

EXAMPLES = int(os.environ.get("GRIDPATROL_FUZZ_EXAMPLES", "40"))  # raise it for a deeper search
FIELDS = {
    "/areas": ["code", "name", "kind", "parent", "timezone"],
    "/members": ["name", "phone", "locale", "active", "assignments"],
    "/schedules": ["area", "name", "windows", "active_from", "active_to", "heightened", "key_sites"],
    "/sites": ["area", "address", "kind", "stove_count", "status", "latitude"],
    "/patrols": ["area", "member_id", "started_at", "ended_at", "checkpoints", "outcome", "problem_count"],
    "/incidents": ["category", "area", "handling_class", "promised_date", "reporter_phone", "latitude"],
    "/categories": ["code", "number", "name_zh", "name_en", "keywords"],
    "/incidents/{ticket}/escalate": ["reason", "flag"],
    "/incidents/{ticket}/reassign": ["area", "note"],
    "/incidents/{ticket}/reject": ["note", "duplicate_of"],
}

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.floats()
           | st.text(max_size=12) | st.sampled_from(["HD03-1-1", "HD03", "08:00", "25:61", "2026-11-25", "coal", "5",
                                                  "17000000001", "\x00", "patroller", "grid", "2026-11-20T08:00:00Z"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["start", "end", "role", "area_id", "name", "dates", "x"]),
                                        inner, max_size=3), max_leaves=8)


@st.composite
def bodies(draw):
    path = draw(st.sampled_from(sorted(FIELDS)))
    keys = st.sampled_from(FIELDS[path]) | st.text(max_size=5)
    return path, draw(st.dictionaries(keys, values, max_size=6) | values)


@pytest.fixture(scope="module")
def shared(request, backend):
    for _app, client, world in module_world(request, backend, "fuzz"):
        created = as_(client, world, "admin").post("/incidents", {"category": 5, "area": "HD03-1-1"})
        ticket = created.get_json()["ticket"]
        yield client, world, ticket


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bodies())
def test_random_bodies_never_500(shared, case):
    client, world, ticket = shared
    path, body = case
    response = client.post("/api/v1" + path.format(ticket=ticket), data=json.dumps(body),
                           headers={**bearer(world.tokens["admin"]), "Content-Type": "application/json"})
    assert response.status_code < 500, (path, body, response.get_json())
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error", "message", "details"}
