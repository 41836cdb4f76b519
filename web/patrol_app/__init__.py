"""The patrollers' offline-first app (网格巡查), served at /app/ from the installed package.

`views.py` serves the shell (index, service worker, manifest, static ES modules) and the few JSON
endpoints the app needs besides `POST /api/v1/sync`: pairing exchange, device settings (the SMS gateway
number), and the two incident actions the sync protocol does not carry (上报 escalate, 收到 acknowledge).
Pairing rules live in `core.domain.pairing`; the sync rules in `sync/`. See docs/app.md.
"""
