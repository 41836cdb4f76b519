"""Offline-first sync: one conflict-resolving endpoint and the reference device client.

`init_app` installs the versioning hook: every write of a synced record, from any channel, gets a
version (and server-side field clocks), so devices hear about API, SMS and worker changes too.
"""


def init_app(app) -> None:
    import sync.models  # noqa: F401  (the sync tables join the one metadata)
    # local: a feature's parts load when an app is built, not with the package
    from sync.versioning import install
    install()
