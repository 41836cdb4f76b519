"""The ONE permission table (core/domain/access.py) covers every operation the server offers: a test
walks the OpenAPI document (and Flask's URL map, for the plain webhooks) and fails on any operation the
table has no row for. Plus the table's small API as other features call it."""
from __future__ import annotations

import re

from core.domain import access
from core.domain.access import PERMISSIONS, can, readable_scope, roles_for
from server.http.access import ENDPOINTS, endpoint_rule
from core.models import ROLES

METHODS = {"get", "post", "put", "patch", "delete"}


def test_every_openapi_operation_has_a_row_in_the_permission_table(app, client):
    document = client.get("/api/openapi.json").get_json()
    missing = []
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            row = endpoint_rule(method, path)
            if row is None or row not in PERMISSIONS:
                missing.append(f"{method.upper()} {path}")
    assert not missing, "operations the permission table does not cover: " + ", ".join(sorted(missing))


def test_every_routed_api_and_webhook_operation_has_a_row(app):
    missing = []
    for url_rule in app.url_map.iter_rules():
        if not url_rule.rule.startswith(("/api/v1/", "/sms/", "/healthz")):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", url_rule.rule)
        for method in (url_rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if endpoint_rule(method, path) is None:
                missing.append(f"{method} {path}")
    assert not missing, missing


def test_every_row_names_known_roles_and_a_known_scope():
    for (collection, action), row in PERMISSIONS.items():
        assert row.roles <= set(ROLES), (collection, action)
        assert row.scope in (access.SUBTREE, access.GLOBAL, access.OWN, access.PUBLIC)
        assert row.roles or row.scope == access.PUBLIC, (collection, action)
    assert set(ENDPOINTS.values()) <= set(PERMISSIONS)


def test_only_admins_grant_and_nobody_reads_phones_without_the_message_log():
    assert roles_for("members", "grant") == {"admin"}
    assert roles_for("reporter_phones", "read") == roles_for("messages", "read")
    assert "patroller" not in roles_for("reporter_phones", "read")
    assert "patroller" not in roles_for("incidents", "set_handling")


def test_legacy_names_read_the_table():
    assert access.ACT_ON_INCIDENT["acknowledge"] == set(roles_for("incidents", "acknowledge"))
    assert access.ACT_ON_INCIDENT["handle"] == set(roles_for("incidents", "handle"))


def test_can_and_readable_scope_over_the_world(world, db):
    from core.models import Area, Member
    get = db.session.get
    leader = access.Principal.for_member(get(Member, world.ids["c1_leader"]))
    patroller = access.Principal.for_member(get(Member, world.ids["patroller"]))
    admin = access.Principal.for_member(get(Member, world.ids["admin"]))
    g11, g21 = get(Area, world.ids["g11"]), get(Area, world.ids["g21"])
    assert can(leader, "acknowledge", "incidents", g11) and not can(leader, "acknowledge", "incidents", g21)
    assert can(patroller, "create", "incidents", g11) and not can(patroller, "acknowledge", "incidents", g11)
    assert not can(leader, "grant", "members", None) and can(admin, "grant", "members", None)
    assert readable_scope(patroller, "incidents") == [g11.path]
    assert readable_scope(admin, "audit") == [""] and readable_scope(leader, "audit") == []
    assert access.sync_scope(patroller) == [g11.path]
