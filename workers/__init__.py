"""Background workers, the runtime only: which jobs run when (periodic.py, cron_config.py), the RQ job
functions that open a session and run a rule of core.domain (jobs.py), and what the health view reports
(health.py). The rules themselves (missed patrols, overdue escalation, alerts, the weekly report) live in
core/domain/.

`init_app` registers the answer to a bare 收到 (the alerts' acknowledgement) with the SMS feature and starts
the embedded timer (periodic jobs in-process) when there is no REDIS_URL, unless the app is TESTING or
WORKERS_EMBEDDED_TIMER is off: tests build many apps and must not grow timer threads.
"""
from __future__ import annotations

import logging

from core import settings
from core.domain.alerts import acknowledge_alert
from sms import register_bare_ack
from workers.periodic import EmbeddedTimer

log = logging.getLogger(__name__)


def init_app(app) -> None:
    register_bare_ack(app, acknowledge_alert)  # a bare 收到 answers the alerts the workers sent
    if app.config.get("REDIS_URL") or app.config.get("TESTING") or not settings.get("WORKERS_EMBEDDED_TIMER", app):
        return
    timer = EmbeddedTimer(app, float(settings.get("WORKERS_TIMER_SECONDS", app))).start()
    app.extensions["gridpatrol.timer"] = timer
    log.info("embedded periodic timer started (every %ss)", timer.seconds)
