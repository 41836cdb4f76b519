"""Schemathesis in-process (WSGI) against the OpenAPI document the app serves: every GET operation and a few
write operations, as the global admin, must never answer 5xx and must answer in the documented schema.

SQLite only, on purpose: the module takes ~25 s on SQLite on a 2-core machine (25 examples per operation
and generation mode), twice that with PostgreSQL too. The wider run against a served demo (all operations;
admin, device and no token) is in docs/operations.md ("Checking the API with schemathesis"). Raise
GRIDPATROL_SCHEMATHESIS_EXAMPLES for a deeper search.
"""
import os

import pytest
import schemathesis  # a declared test dependency: missing means a broken install, which must fail
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.api_helpers import as_, module_world  # noqa: E402
from tests.conftest import bearer  # noqa: E402

pytestmark = pytest.mark.slow_start  # hundreds of generated requests per mode

EXAMPLES = int(os.environ.get("GRIDPATROL_SCHEMATHESIS_EXAMPLES", "25"))

# Writes worth fuzzing that cannot lock the admin out of the shared world (token/member deletion and member
# edits could revoke the very token the run uses, turning the rest of it into 401s).
WRITES = [
    ("POST", "/api/v1/areas"),
    ("POST", "/api/v1/incidents"),
    ("POST", "/api/v1/sites"),
    ("POST", "/api/v1/schedules"),
    ("POST", "/api/v1/patrols"),
    ("PATCH", "/api/v1/incidents/{ref}"),
    ("POST", "/api/v1/incidents/{ref}/note"),
    ("POST", "/api/v1/incidents/{ref}/escalate"),
    ("POST", "/api/v1/incidents/{ref}/handle"),
]


def _selected(ctx) -> bool:
    method, path = ctx.operation.method.upper(), ctx.operation.path
    return method == "GET" or (method, path) in WRITES


@pytest.fixture(scope="module", params=["sqlite"])
def fuzz_world(request):
    for app, client, world in module_world(request, request.param, "schemathesis"):
        created = as_(client, world, "admin").post("/incidents", {"category": 5, "area": "HD03-1-1"})
        ticket = created.get_json()["ticket"]
        yield app, world, ticket


@pytest.fixture(scope="module")
def api_schema(fuzz_world):
    app, _world, _ticket = fuzz_world
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app).include(_selected)


def _fuzz_operation(operation, mode, headers, ticket) -> str | None:
    """Run one operation's cases; the first failing case as text, or None. (schemathesis's own
    `@schema.parametrize` via `from_fixture` does not run under pytest 9, hence this loop.)"""
    path_parameters = {"ref": ticket} if "{ref}" in operation.path else None

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - every failure is reported together below
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:2000]
    return None


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_api_conforms_and_never_5xx(api_schema, fuzz_world, mode):
    _app, world, ticket = fuzz_world
    headers = bearer(world.tokens["admin"])
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25, "the filter lost the GET operations"
    failures = [f for f in (_fuzz_operation(op, mode, headers, ticket) for op in operations) if f]
    assert not failures, "\n\n".join(failures)
