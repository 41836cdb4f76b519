"""Background workers: missed-patrol alerts, overdue escalations, the Thursday weekly report.

`init_app` starts the embedded timer (periodic jobs in-process) when there is no REDIS_URL, unless the
app is TESTING or WORKERS_EMBEDDED_TIMER is off: tests build many apps and must not grow timer threads.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def init_app(app) -> None:
    import core.models.alerts  # noqa: F401  (the workers' tables join the one metadata)
    # local: a feature's parts load when an app is built, not with the package
    from sms import register_bare_ack
    from core import settings
    from core.domain.alerts import acknowledge_alert
    from server.rq_console import init_dashboard
    register_bare_ack(app, acknowledge_alert)  # a bare 收到 answers the alerts the workers sent
    init_dashboard(app)
    if app.config.get("REDIS_URL") or app.config.get("TESTING") or not settings.get("WORKERS_EMBEDDED_TIMER", app):
        return
    # local: a feature's parts load when an app is built, not with the package
    from workers.periodic import EmbeddedTimer
    timer = EmbeddedTimer(app, float(settings.get("WORKERS_TIMER_SECONDS", app))).start()
    app.extensions["gridpatrol.timer"] = timer
    log.info("embedded periodic timer started (every %ss)", timer.seconds)
