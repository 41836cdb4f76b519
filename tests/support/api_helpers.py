"""Small helpers for the API tests: call as a given world member, check the one error shape."""
from __future__ import annotations

from tests.conftest import bearer
from tests.support.factories import build_world


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


def module_world(request, backend: str, name: str):
    """The process's app, a client and one world on `backend` for a whole module, for tests that only read (or
    only write what they then check themselves). Yields (app, client, world); use from a module-scoped
    fixture that takes the `backend` fixture. The database is emptied first; the app is put back after.
    Only in a module whose every database test uses it: under xdist's work stealing a module's tests may run
    in another order, and a test taking `app` empties the database under the module's world."""
    from core.db import db
    from tests.conftest import reset_database, shared_app
    from tests.support.apps import isolated
    application = shared_app(request, backend)
    instance = request.getfixturevalue("tmp_path_factory").mktemp(name) / "instance"
    with isolated(application, instance, lambda: reset_database(db)):
        with application.app_context():
            world = build_world(db.session)
            db.session.commit()
        yield application, application.test_client(), world
