"""Every list endpoint pages the same way: {"items", "page", "per_page", "total"}, stable across pages."""
import pytest

from tests.support.api_helpers import as_, module_world

pytestmark = pytest.mark.both_databases  # page order and ties are each database's ORDER BY

LISTS = ["/areas", "/members", "/devices", "/schedules", "/categories", "/sites", "/patrols", "/incidents", "/audit",
         "/auth/tokens"]


@pytest.fixture(scope="module")
def populated(request, backend):
    for _app, client, world in module_world(request, backend, "pages"):
        yield _populate(client, world)


def _populate(client, world):
    admin = as_(client, world, "admin")
    for area in ("HD03", "HD03-1"):
        admin.post("/schedules", {"area": area})
    for address in ("一号", "二号"):
        admin.post("/sites", {"area": "HD03-1-1", "address": address})
    for hour in ("08", "09"):
        admin.post("/patrols", {"area": "HD03-1-1", "member_id": world.ids["patroller"],
                                "started_at": f"2026-11-20T{hour}:00:00Z"})
    for _ in range(2):
        admin.post("/incidents", {"category": 5, "area": "HD03-1-1"})
    admin.post("/auth/tokens", {"member_id": world.ids["admin"]})
    return admin


@pytest.mark.parametrize("path", LISTS)
def test_pages_cover_every_item_once(populated, path):
    first = populated.get(path, {"per_page": 1}).get_json()
    total = first["total"]
    assert total >= 2 and first["page"] == 1 and first["per_page"] == 1 and len(first["items"]) == 1
    seen = [item.get("id") for page in range(1, total + 1)
            for item in populated.get(path, {"per_page": 1, "page": page}).get_json()["items"]]
    assert len(seen) == total and len(set(seen)) == total
    assert populated.get(path, {"per_page": 1, "page": total + 1}).get_json()["items"] == []
    everything = populated.get(path, {"per_page": 500}).get_json()
    assert sorted(map(str, seen)) == sorted(str(i["id"]) for i in everything["items"])
