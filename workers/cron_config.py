"""RQ cron configuration: `rq cron workers.cron_config --url $REDIS_URL` (or `gridpatrol worker --with-cron`).

One entry: `workers.periodic.tick` every minute on the `alerts` queue. The tick decides which periodic
jobs are due and claims each period with SET NX, so running this scheduler twice (two hosts, a restart
overlap) still enqueues every job once per period.
"""
from rq import cron

from workers.periodic import tick

cron.register(tick, queue_name="alerts", cron="* * * * *", name="gridpatrol-tick", job_timeout=120,
              result_ttl=600)
