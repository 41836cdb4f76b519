"""Offline-first sync: the protocol's server side (one conflict-resolving round trip, sync.service) and,
apart in sync/device/, the reference device client.

`init_app` installs the versioning hook: every write of a synced record, from any channel, gets a
version (and server-side field clocks), so devices hear about API, SMS and worker changes too.
"""


def init_app(app) -> None:
    # local: the tables and the versioning hook load when an app is built, not with the package (the device
    # client imports sync with no database at all)
    import sync.models  # noqa: F401  (the sync tables join the one metadata)
    from sync.versioning import install
    install()
