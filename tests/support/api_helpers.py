"""Small helpers for the API tests: call as a given world member, check the one error shape."""
from __future__ import annotations

from tests.conftest import bearer


class As:
    """`As(client, world.tokens["admin"]).post("/areas", {...})` — paths are relative to /api/v1."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.headers = bearer(token) if token else {}

    def _call(self, method: str, path: str, body=None, query=None):
        kwargs = {"headers": self.headers, "query_string": query}
        if body is not None:
            kwargs["json"] = body
        return getattr(self.client, method)("/api/v1" + path, **kwargs)

    def get(self, path, query=None):
        return self._call("get", path, query=query)

    def post(self, path, body=None):
        return self._call("post", path, {} if body is None else body)

    def patch(self, path, body):
        return self._call("patch", path, body)

    def put(self, path, body):
        return self._call("put", path, body)

    def delete(self, path):
        return self._call("delete", path)


def as_(client, world, who: str) -> As:
    return As(client, world.tokens[who] if who != "device" else world.device_token)


def assert_error(response, status: int, code: str | None = None):
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == {"error", "message", "details"}, body
    if code:
        assert body["error"] == code, body
    return body


def audit_actions(app) -> list[str]:
    from core.db import db
    from core.models import AuditLog
    with app.app_context():
        return [a.action for a in db.session.scalars(db.select(AuditLog).order_by(AuditLog.id))]


def module_world(request, tmp_path_factory, name: str):
    """One app, client and world per backend for a whole module, for tests that only read (or only write
    what they then check themselves). Yields (app, client, world); use from a module-scoped fixture
    parametrized over tests.conftest.BACKENDS."""
    from core.db import db
    from tests.conftest import make_app, reset_database
    from tests.support.factories import build_world
    tmp = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{tmp / 'test.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    application = make_app(url, tmp)
    with application.app_context():
        reset_database(db)
        world = build_world(db.session)
        db.session.commit()
    try:
        yield application, application.test_client(), world
    finally:
        application.extensions["gridpatrol.runner"].wait(timeout=30)
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
