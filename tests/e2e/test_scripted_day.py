"""The scripted day (issue 9): an office's production setup, run from the plain install, under faults.

Processes (the Procfile's command lines, from a fresh venv holding only the wheel and its declared
dependencies): gunicorn with 2 workers, two RQ workers and the cron scheduler, against a fresh PostgreSQL
database and the suite's Redis db — both reached through local TCP proxies this test starts, so it can cut
them (never the shared servers). SMS goes through the real `twilio` library to a local stand-in of Twilio's
API; residents' and leaders' texts arrive as webhooks signed with Twilio's own algorithm.

The day is a fixed local date D two days back (the real-time cron never plans it), driven with
`gridpatrol alerts run --now …` steps: roster from XLSX (creating the district and sub-district), a schedule
with a winter campaign, devices, morning patrols synced for most grids, resident reports, the missed-patrol
alert for the grid that did not patrol, a leader's 收到, an overdue problem escalated one level, the weekly
report and its XLSX. Faults: PostgreSQL cut for 10 s while texts and syncs arrive; a worker SIGKILLed right
after a scan is queued; Redis cut for 10 s while alerts are queued.

Asserted at the end: every text stored once, every synced record stored once, every alert texted once to
Twilio, no 500 in any process log.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import POSTGRES_URL, flush_test_redis
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, TwilioStandIn
from tests.support.plain_install import (ROOT, Processes, free_port, fresh_postgres_database, production_env,
                                         wait_for_http)
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900), pytest.mark.slow_start]
TZ = ZoneInfo("Asia/Shanghai")
GRIDS = {"映月社区": ["映月一网格", "映月二网格"], "白马社区": ["白马一网格", "白马二网格"]}
RESIDENTS = [f"+861390000{n:04d}" for n in range(1, 11)]


def _roster_xlsx() -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.append(["社区", "网格", "姓名", "电话", "角色"])
    n = 0
    for community, grids in GRIDS.items():
        n += 1
        sheet.append([community, "", f"{community[:2]}书记", f"+861700900{n:04d}", "社区书记"])
        for grid in grids:
            for role in ("组长", "网格员", "网格员"):
                n += 1
                sheet.append([community, grid, f"{grid[:3]}{role}{n}", f"+861700900{n:04d}", role])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _procfile() -> dict[str, str]:
    lines = [line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in lines}


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, raw: bool = False):
        data = json.dumps(body).encode() if body is not None else None
        request = Request(self.base + path, data=data, method=method,
                          headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urlopen(request, timeout=30) as response:
            payload = response.read()
            return payload if raw else json.loads(payload)


def _webhook(base: str, sender: str, body: str, sid: str) -> tuple[int, str]:
    """POST like Twilio does: form-encoded, signed over the public URL."""
    from urllib.error import HTTPError
    from urllib.parse import urlencode
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": FROM_NUMBER,
              "Body": body, "NumMedia": "0", "NumSegments": "1"}
    path = "/sms/twilio/inbound"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    request = Request(base + path, data=urlencode(params).encode(), method="POST",
                      headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait(predicate, timeout: float, what: str, procs: Processes):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{procs.log_text()[-20000:]}")


def test_scripted_day_under_faults(plain_bin, postgres_url, redis_url, tmp_path):
    import psycopg
    from redis import Redis
    from rq import Queue
    from sync.device.client import DeviceClient, HttpTransport

    database_url = fresh_postgres_database(postgres_url, POSTGRES_URL.rpartition("/")[2].split("?")[0] + "_e2e")
    flush_test_redis(redis_url)
    pg, rd = urlsplit(database_url), urlsplit(redis_url)
    pg_proxy, redis_proxy = TcpProxy(pg.hostname, pg.port or 5432), TcpProxy(rd.hostname, rd.port or 6379)
    twilio = TwilioStandIn().start()
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    env = production_env(plain_bin, pg_proxy.url_for(database_url), redis_proxy.url_for(redis_url),
                         tmp_path / "instance", PORT=port, GRIDPATROL_SMS_BACKEND="twilio",
                         TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=FROM_NUMBER,
                         TWILIO_API_BASE_URL=twilio.base_url, GRIDPATROL_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
                         GRIDPATROL_SMS_SWEEP_GRACE=5, GRIDPATROL_SMS_RETRY_BASE=2,
                         GRIDPATROL_WORKERS_SCAN_INTERVAL_SECONDS=60, GRIDPATROL_WORKERS_QUIET_START="00:00",
                         GRIDPATROL_WORKERS_QUIET_END="00:00",
                         # the day is scripted two days back: a bare 收到 today must still find its alerts
                         GRIDPATROL_WORKERS_ACK_LOOKBACK_HOURS=96)
    procs = Processes(logs, env)
    direct = psycopg.connect(database_url, autocommit=True)  # the test's own eyes, not through the proxy
    q = lambda sql, *args: direct.execute(sql, args).fetchall()  # noqa: E731
    try:
        # ---- install day: schema + catalogue, admin, roster (district and sub-district created), devices
        procs.run(["gridpatrol", "db", "upgrade"])
        admin_token = procs.run(["gridpatrol", "admin", "create", "--name", "王主任", "--phone",
                                 "+8617009009999"]).stdout.strip()
        roster = tmp_path / "花名册.xlsx"
        roster.write_bytes(_roster_xlsx())
        create = ["--parent", "CJ05", "--create-parent", "澄江区/映月街道"]
        dry = procs.run(["gridpatrol", "roster", "import", str(roster), *create])
        assert "would create CJ, CJ05" in dry.stderr
        procs.run(["gridpatrol", "roster", "import", str(roster), *create, "--commit"])
        # ---- every process, with the Procfile's command lines; a second worker
        commands = _procfile()
        assert set(commands) == {"web", "worker", "cron"}
        web = commands["web"].replace("--workers 4", "--workers 2") + " --access-logfile -"
        procs.start("web", ["sh", "-c", web])
        procs.start("worker1", ["sh", "-c", "exec " + commands["worker"]])
        procs.start("worker2", ["sh", "-c", "exec " + commands["worker"]])
        procs.start("cron", ["sh", "-c", "exec " + commands["cron"]])
        base = f"http://127.0.0.1:{port}"
        health = json.loads(wait_for_http(base + "/healthz", timeout=90))
        assert health["status"] == "ok" and not any("sms_console" in w for w in health["warnings"])
        assert any("no_schedule" in w for w in health["warnings"])  # said loudly until a schedule exists
        api = Api(base + "/api/v1", admin_token)
        grids = {a["name"]: a for a in api.call("GET", "/areas?within=CJ05&kind=grid&per_page=50")["items"]}
        assert set(grids) == {g for gs in GRIDS.values() for g in gs}

        # ---- a schedule for day D with a winter campaign (heightened evening window)
        day = (datetime.now(TZ) - timedelta(days=2)).date()
        api.call("POST", "/schedules", {"area": "CJ05", "name": "日常巡查",
                                        "windows": [{"start": "08:00", "end": "12:00"}],
                                        "active_from": day.isoformat(), "active_to": day.isoformat(),
                                        "heightened": [{"name": "秋冬季攻坚", "dates": [day.isoformat()],
                                                        "windows": [{"start": "19:00", "end": "21:00"}]}]})
        health = json.loads(wait_for_http(base + "/healthz"))
        assert not any("no_schedule" in w for w in health["warnings"])

        # devices for every patroller; three of the four grids patrol in the morning window
        patrollers = q("SELECT m.id, m.phone, a.area_id FROM members m JOIN assignments a ON a.member_id = m.id "
                       "WHERE a.role = 'patroller' ORDER BY m.id")
        devices = []
        for member_id, phone, grid_id in patrollers:
            result = procs.run(["gridpatrol", "device", "register", "--phone", phone])
            device_id = re.search(r"device (\S+) for", result.stderr).group(1)
            devices.append((device_id, result.stdout.strip(), grid_id))
        lazy_grid = grids["白马二网格"]["id"]
        morning = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ).astimezone(timezone.utc)
        synced_ids: list[str] = []

        # ---- PostgreSQL cut for 10 s while texts and syncs arrive
        texts: list[tuple[str, str, str]] = []
        answers: list[tuple[int, str]] = []
        sync_errors: list[BaseException] = []

        def send_texts(count: int, offset: int):
            for i in range(count):
                sender = RESIDENTS[(offset + i) % len(RESIDENTS)]
                sid = f"SM{offset + i:032x}"
                body = f"举报 烧煤 {'映月' if i % 2 else '白马'}路{offset + i}号"
                texts.append((sid, sender, body))
                answers.append(_webhook(base, sender, body, sid))
                time.sleep(0.2)

        def sync_all():
            """Each phone (its own SQLite replica, opened in this thread) queues its morning patrol, then syncs."""
            for n, (device_id, token, grid_id) in enumerate(devices):
                try:
                    client = DeviceClient(str(tmp_path / f"phone{n}.sqlite"), HttpTransport(base, token),
                                          device_id=device_id, max_attempts=12, backoff=0.5)
                    if grid_id != lazy_grid:
                        synced_ids.append(client.put("patrols", area_id=grid_id, started_at=morning.isoformat(),
                                                     ended_at=(morning + timedelta(minutes=40)).isoformat(),
                                                     notes="早巡", outcome="all_clear"))
                    client.sync()
                except BaseException as exc:  # noqa: BLE001 - reported below
                    sync_errors.append(exc)

        send_texts(5, 0)
        pg_proxy.cut()
        cut_at = time.monotonic()
        workers = [threading.Thread(target=send_texts, args=(15, 100)), threading.Thread(target=sync_all)]
        for thread in workers:
            thread.start()
        time.sleep(max(0.0, 10 - (time.monotonic() - cut_at)))
        pg_proxy.restore()
        for thread in workers:
            thread.join(timeout=180)
        assert not sync_errors, sync_errors
        send_texts(5, 200)
        assert all(status == 200 for status, _ in answers), answers
        assert any("短信已保存" in body for _, body in answers)  # some were spooled while the database was down
        _wait(lambda: q("SELECT count(*) FROM sms_inbound")[0][0] == len(texts), 150,
              "every text stored (spool replayed)", procs)
        assert not list((tmp_path / "instance" / "sms-spool").glob("*.jsonl")) or all(
            p.stat().st_size == 0 for p in (tmp_path / "instance" / "sms-spool").glob("*.jsonl"))

        # ---- the scan after the morning window: a worker SIGKILLed right after the scan is queued
        scan_at = datetime(day.year, day.month, day.day, 12, 31, tzinfo=TZ).astimezone(timezone.utc).isoformat()
        connection = Redis.from_url(redis_url)
        Queue("alerts", connection=connection).enqueue("workers.jobs.run_all", now=scan_at)
        victim = procs.children["worker1"]
        os.kill(victim.pid, signal.SIGKILL)
        # ---- Redis cut for 10 s while the catch-up run queues the alerts
        redis_proxy.cut()
        cut_at = time.monotonic()
        catch_up = procs.run(["gridpatrol", "alerts", "run", "--now", scan_at], timeout=120)
        assert json.loads(catch_up.stdout)["missed_patrols"]["missed"] in (0, 1)
        time.sleep(max(0.0, 10 - (time.monotonic() - cut_at)))
        redis_proxy.restore()
        missed = q("SELECT member_id, key FROM worker_alerts WHERE rule = 'missed'")
        lazy_people = {r[0] for r in q("SELECT member_id FROM assignments WHERE area_id = %s", lazy_grid)}
        assert missed and {m for m, _ in missed} == lazy_people  # the 组长 and the patrollers of the lazy grid
        _wait(lambda: q("SELECT count(*) FROM sms_outbound WHERE key = ANY(%s) AND state IN ('sent', 'delivered')",
                        [k for _, k in missed])[0][0] == len(missed), 180, "missed-patrol alerts sent", procs)

        # ---- the grid's 组长 answers 收到
        leader_phone = q("SELECT m.phone FROM members m JOIN assignments a ON a.member_id = m.id "
                         "WHERE a.area_id = %s AND a.role = 'grid_leader'", lazy_grid)[0][0]
        status, reply = _webhook(base, leader_phone, "收到", "SM" + "f" * 32)
        assert status == 200 and reply
        # the morning window is acknowledged (the cron, running on today's clock, may by now also have found
        # day D's evening campaign window missed: a bare 收到 acknowledges that alert too)
        assert q("SELECT count(*) FROM worker_patrol_windows WHERE area_id = %s AND acknowledged_at IS NOT NULL "
                 "AND label = '08:00-12:00'", lazy_grid)[0][0] == 1

        # ---- an overdue problem climbs one level: a 上报 from a grid (the community answers for it, 24 h) passes
        # its deadline (its leader is alerted), and two hours later it is escalated one level up, flagged
        grid_code = grids["映月一网格"]["code"]
        incident = api.call("POST", "/incidents", {"category": 5, "area": grid_code, "handling_class": "reported",
                                                   "location_text": "映月路12号"})
        levels = ["grid", "community", "subdistrict", "district"]
        level_of = lambda: q("SELECT a.kind, i.flagged FROM incidents i JOIN areas a ON a.id = i.responsible_area_id "  # noqa: E731
                             "WHERE i.ticket = %s", incident["ticket"])[0]
        before = level_of()
        for hours in (25, 27.5):
            moment = (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()
            procs.run(["gridpatrol", "alerts", "run", "--now", moment], timeout=180)
        after = level_of()
        assert levels.index(after[0]) == levels.index(before[0]) + 1 and after[1] is True and before[1] is False

        # ---- Thursday's report, and its XLSX opens
        report_day = (day + timedelta(days=1)).isoformat()
        procs.run(["gridpatrol", "reports", "weekly", "--area", "CJ05", "--now", f"{report_day}T10:00:00+08:00"])
        reports = api.call("GET", "/reports/weekly?area_id=CJ05")["items"]
        assert len(reports) >= 1
        from openpyxl import load_workbook
        book = load_workbook(io.BytesIO(api.call("GET", f"/reports/weekly/{reports[0]['id']}.xlsx", raw=True)))
        assert "周报排名" in book.sheetnames
        report = api.call("GET", f"/reports/weekly/{reports[0]['id']}")["data"]
        coverage = {r["name"]: r["current"]["coverage"] for r in report["communities"]}
        assert None not in coverage.values() and coverage["映月社区"] > coverage["白马社区"]  # 白马二网格 never walked

        # ---- the end of the day
        _wait(lambda: q("SELECT count(*) FROM sms_outbound WHERE state IN ('queued', 'sending')")[0][0] == 0, 180,
              "the outbox drained", procs)
        inbound = q("SELECT message_sid FROM sms_inbound")
        assert sorted(s for (s,) in inbound) == sorted({sid for sid, _, _ in texts} | {"SM" + "f" * 32})
        stored = q("SELECT id FROM patrols")
        assert sorted(str(i) for (i,) in stored) == sorted(synced_ids)  # every synced record, once
        sent_keys = q("SELECT key FROM sms_outbound WHERE purpose = 'alert'")
        assert len(sent_keys) == len({k for (k,) in sent_keys})
        bodies = [(m["to"], m["body"]) for m in twilio.messages]
        alert_bodies = [b for b in bodies if "未巡查" in b[1]]
        assert len(alert_bodies) == len(set(alert_bodies))  # every alert texted once
        # the missed-patrol texts to the grid's people ("…未巡查。回复“收到”确认。"); a follow-up to the community
        # leader ("…未巡查（提醒未回复）…") may also have gone out once the cron's clock passed the reply window
        morning_texts = [b for b in alert_bodies if "08:00-12:00 未巡查。" in b[1]]
        assert len(morning_texts) == len(missed) and {to for to, _ in morning_texts} == set(
            r[0] for r in q("SELECT phone FROM members WHERE id = ANY(%s)", list(lazy_people)))
        text = procs.log_text()
        assert not re.search(r'" 500 \d', text), "a 500 in the access log"
        assert "internal_error" not in text and "unhandled error" not in text
    finally:
        procs.stop_all()
        direct.close()
        twilio.stop()
        pg_proxy.close()
        redis_proxy.close()
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / "scripted-day.log").write_text(procs.log_text())
