"""The sync endpoint end to end: create, pull, merge, conflicts, idempotency, permissions, scope."""
from tests.sync_helpers import change, hlc, new_id, ok, patrol_fields, pull_all, sync


def test_push_new_patrol_then_other_device_in_scope_pulls_it(client, world):
    pid = new_id()
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("patrols", pid, patrol_fields(world.ids["g11"], notes="映月路"))]))
    assert body["results"][0]["status"] == "applied"
    assert isinstance(body["results"][0]["version"], int)
    # the writer is not sent its own write back
    assert all(c["id"] != pid for c in body["changes"])
    seen, _ = pull_all(client, world.device_token, world.ids["device"], body["cursor"])
    assert ("patrols", pid) not in seen
    # device2 is in another community: never sees it
    seen2, _ = pull_all(client, world.device2_token, world.ids["device2"])
    assert ("patrols", pid) not in seen2
    assert any(key[0] == "categories" for key in seen2)
