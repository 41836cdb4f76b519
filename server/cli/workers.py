"""`gridpatrol` subcommands of the workers feature: worker, cron, alerts run, reports weekly.

    gridpatrol worker [--queues sms,alerts,reports] [--with-cron] [--burst] [--fork]
        an RQ worker (with RQ's scheduler for enqueue_at/enqueue_in) on the named queues, running the jobs
        in its own process; --with-cron also starts `rq cron workers.cron_config` as a child process (the
        periodic jobs); --fork forks a work horse per job instead.
    gridpatrol cron        the RQ cron scheduler alone (several may run: periods are claimed with SET NX)
    gridpatrol alerts run [--now ISO]   every scan once for that moment (catching up after an outage)
"""
from __future__ import annotations

import json
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from core.domain.areas import area_by_code
from core.db import db
from workers.jobs import parse_now, run_all, weekly_report_job

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.


def _redis_url() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis the server runs jobs in-process "
                                   "(embedded timer); set REDIS_URL to run RQ workers")
    return url


def _start_cron(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rq.cli", "cron", "workers.cron_config", "--url", url])


@click.command("worker")
@click.option("--queues", default="sms,alerts,reports", show_default=True, help="comma-separated, in priority order")
@click.option("--with-cron/--no-cron", default=False, help="also run the RQ cron scheduler (periodic jobs)")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--fork", is_flag=True, help="fork a work horse per job (RQ's Worker) instead of running the jobs in "
                                          "this long-lived process (RQ's SimpleWorker, the default)")
@click.option("--simple", is_flag=True, hidden=True, help="the default; kept for scripts that name it")
@with_appcontext
def worker_command(queues, with_cron, burst, fork, simple):
    """Run an RQ worker on the gridpatrol queues.

    Jobs run in this process, one after another (SimpleWorker): a job reuses the connection pools, the
    compiled statements and the loaded dictionaries of the ones before it. Every job opens its own session
    and is safe to run twice, so a job has nothing to inherit from its predecessor, and a worker killed mid-job
    loses nothing the sweeps do not hand out again. --fork trades that speed for a process per job
    (docs/architecture.md, "Jobs and workers")."""
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker
    if fork and simple:
        raise click.UsageError("--fork and --simple exclude each other")
    url = _redis_url()
    connection = Redis.from_url(url)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    _warm_up(current_app, fork)
    cron = _start_cron(url) if with_cron else None
    try:
        worker_class = Worker if fork else SimpleWorker
        while True:
            worker = worker_class([Queue(n, connection=connection) for n in names], connection=connection)
            try:
                worker.work(with_scheduler=True, burst=burst, logging_level=current_app.config["LOG_LEVEL"])
                break
            except RedisUnavailable as exc:  # a Redis blink must not end the worker
                _wait_for_redis(connection, exc)
    finally:
        if cron is not None:
            cron.terminate()
            cron.wait(timeout=10)


def _warm_up(app, fork: bool) -> None:
    """Load before the first job what every job needs: the job modules, the SMS providers' client libraries
    and what reading a text needs (jieba's dictionary, the pinyin table, the model: about a second). Done here
    and now, not on a thread: RQ forks its scheduler (and, with --fork, a horse per job) from this process,
    and a fork taken while a thread holds a lock hands the child a lock nobody releases. With --fork, what is
    loaded is then frozen out of the garbage collector's reach, so a horse's collections do not copy the
    parent's whole heap page by page."""
    import gc
    from importlib import import_module
    from sms import warm_up_understanding
    from sms.providers import configured_names, get_provider
    for module in ("workers.jobs", "sms.inbound", "sms.outbox", "sms.spool", "sms.sweep"):
        import_module(module)
    for name in configured_names(app.config):
        get_provider(app, name).warm_up()  # imports the SDK; connects nowhere yet
    warm_up_understanding(background=False)
    if fork:
        gc.freeze()


@click.command("cron")
@with_appcontext
def cron_command():
    """Run the RQ cron scheduler with gridpatrol's periodic jobs (workers/cron_config.py)."""
    from redis import Redis
    from rq.cron import CronScheduler
    connection = Redis.from_url(_redis_url())
    while True:
        scheduler = CronScheduler(connection=connection)
        scheduler.load_config_from_file("workers.cron_config")
        try:
            scheduler.start()
            return
        except RedisUnavailable as exc:  # a Redis blink must not end the scheduler
            _wait_for_redis(connection, exc)


try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeout
    RedisUnavailable: tuple = (_RedisConnectionError, _RedisTimeout)
except ImportError:  # pragma: no cover
    RedisUnavailable = ()


def _wait_for_redis(connection, exc: BaseException, pause: float = 2.0) -> None:
    """Log once, then ping until Redis answers; the caller starts its loop again."""
    import logging
    import time
    log = logging.getLogger("server.cli.workers")
    log.warning("Redis unavailable (%s); waiting for it to come back", type(exc).__name__)
    while True:
        time.sleep(pause)
        try:
            connection.ping()
            log.warning("Redis is back; resuming")
            return
        except RedisUnavailable:
            continue


@click.group("alerts")
def alerts_group():
    """Missed-patrol and overdue alerts."""


@alerts_group.command("run")
@click.option("--now", "now", default=None, help="the moment to scan for (ISO 8601; default: now)")
@with_appcontext
def alerts_run(now):
    """Run every scan once for one moment: plan windows, missed patrols, overdue, held alerts, digest,
    weekly report. Safe to repeat: alerts already sent are keyed and not sent again."""
    try:
        moment = parse_now(now)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO time: {now!r}", param_hint="--now") from exc
    click.echo(json.dumps(run_all(moment), ensure_ascii=False, indent=2, default=str))


@click.group("reports")
def reports_group():
    """Weekly reports."""


@reports_group.command("weekly")
@click.option("--now", "now", default=None, help="ISO time; the report day is its local date")
@click.option("--area", "area_code", default=None, help="sub-district or district code (default: all)")
@with_appcontext
def reports_weekly(now, area_code):
    """Produce the weekly report now, whatever the weekday, and text the summaries."""
    area_id = None
    if area_code:
        area = area_by_code(db.session, area_code)
        if area is None:
            raise click.BadParameter(f"no area {area_code}", param_hint="--area")
        if area.kind not in ("subdistrict", "district"):
            raise click.BadParameter(f"{area_code} is a {area.kind}: reports are for a sub-district or district",
                                     param_hint="--area")
        area_id = area.id
    click.echo(json.dumps(weekly_report_job(now, subdistrict_id=area_id, force=True), ensure_ascii=False))


commands: list = [worker_command, cron_command, alerts_group, reports_group]
