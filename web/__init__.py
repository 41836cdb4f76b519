"""Web front-ends served by gridpatrol itself: `web.patrol_app` (the patrollers' offline-first app at /app/)
and `web.dashboard` (the leaders' pages). Every asset ships inside the package: no CDN, fonts or tiles."""
