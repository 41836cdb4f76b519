"""Field benchmark: the patrol app in real Chromium on an emulated 2G link.

    .venv/bin/python bench/field_bench.py [--records 50] [--database-url sqlite:///…|postgresql://…/gp_issue_11_bench]

The server runs in this process on 127.0.0.1 (SQLite in a temp dir by default) behind a small TCP relay that
counts every byte on the wire (headers included) in each direction. Chromium's network emulation (CDP
Network.emulateNetworkConditions: 300 ms latency, 64 kbit/s down and up; Chromium emulates packet loss for
WebRTC only, so loss is represented by the cut phase) is applied to the app's page. Prints:
  1. first load: seconds until the shell is usable (pairing screen drawn) and bytes down/up, on the 2G link;
     then seconds/bytes until the service worker holds the whole shell offline;
  2. a day's records (patrols, problems, notes) created offline, then the link comes up: seconds until every
     record is acknowledged, bytes up/down, requests;
  3. the same with the link cut mid-sync and restored 2 s later, and a check that nothing was duplicated.
Bounded: a fixed record count, timeouts everywhere, the browser and server stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRIDPATROL_WORKERS_EMBEDDED_TIMER", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import fresh_postgres_schema  # noqa: E402
from tests.support.tcp_proxy import TcpProxy  # noqa: E402  (the suite's proxy, counting bytes each way)

LINK = {"offline": False, "latency": 300, "downloadThroughput": 64000 / 8, "uploadThroughput": 64000 / 8}
CHROMIUM = os.environ.get("GRIDPATROL_TEST_CHROMIUM", "/usr/bin/chromium")

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def build_server(database_url: str | None):
    from werkzeug.serving import make_server

    from server import create_app
    from core.domain.areas import create_area
    from core.domain.catalogue import seed_categories
    from core.domain.pairing import issue_pairing_code
    from core.db import db
    from core.models import Assignment, Member

    scratch = Path(tempfile.mkdtemp(prefix="gp-field-bench-"))
    url = database_url or f"sqlite:///{scratch / 'bench.db'}"
    if url.startswith("postgresql"):
        fresh_postgres_schema(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(scratch / "instance"), "SMS_BACKEND": "console",
                      "REDIS_URL": None, "WORKERS_EMBEDDED_TIMER": False})
    with app.app_context():
        db.create_all()
        s = db.session
        seed_categories(s)
        district = create_area(s, code="CJ", name="澄江区", kind="district")
        sub = create_area(s, code="CJ05", name="映月街道", kind="subdistrict", parent_id=district.id)
        community = create_area(s, code="CJ05-1", name="映月社区", kind="community", parent_id=sub.id)
        grid = create_area(s, code="CJ05-1-1", name="映月社区第一网格", kind="grid", parent_id=community.id)
        members = []
        for n in range(2):
            member = Member(name=f"巡查员{n}", phone=f"+861700200000{n}")
            member.assignments.append(Assignment(role="patroller", area_id=grid.id))
            s.add(member)
            members.append(member)
        s.flush()
        codes = [issue_pairing_code(s, m, actor_label="bench", channel="cli").code for m in members]
        grid_id = grid.id
        s.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, codes, grid_id


def wait(page, script, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        time.sleep(0.05)


def emulate(cdp, **overrides):
    # CDP's packetLoss/packetQueueLength apply to WebRTC only, not to HTTP; the cut-and-restore phase (every
    # open connection reset, requests failing for 2 s) is what loss does to the app's requests.
    cdp.send("Network.emulateNetworkConditions", {**LINK, **overrides})


CREATE_DAY = """async ([n, grid]) => {
  const s = window.gridpatrol.store, now = () => new Date().toISOString();
  const incidents = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    if (kind === 0) await s.enqueue('patrols', s.newId(), 'put', {area_id: grid, started_at: now(), ended_at: now(),
        outcome: 'all_clear', problem_count: 0, notes: '映月路一带巡查，无异常'});
    else if (kind === 4 && incidents.length) await s.enqueue('incident_events', s.newId(), 'put',
        {incident_id: incidents[incidents.length - 1], kind: 'note', note: '已劝导改用电取暖', at: now()});
    else { const id = s.newId(); incidents.push(id);
      await s.enqueue('incidents', id, 'put', {category_id: 5, area_id: grid, handling_class: 'immediate',
        description: `映月路${i}号烧散煤`, location_text: `映月路${i}号`, reported_at: now()}); }
  }
  return s.pendingCount();
}"""


def run_day(browser, base, code, grid_id, records, relay, cut: bool, app):
    context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 412, "height": 860})
    page = context.new_page()
    page.goto(f"/app/pair?code={code}")
    page.click("#pair-button")
    wait(page, "window.gridpatrol.store.getMeta('last_sync_ok')")
    wait(page, "navigator.serviceWorker.ready.then(r => !!r.active)")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    emulate(cdp, offline=True)
    assert page.evaluate(CREATE_DAY, [records, grid_id]) == records
    requests, failed = [], []
    page.on("requestfinished", lambda r: requests.append(r.url) if "/api/v1/sync" in r.url else None)
    page.on("requestfailed", lambda r: failed.append(r.url) if "/api/v1/sync" in r.url else None)
    if cut:  # several requests, so the cut lands mid-sync
        page.evaluate("window.gridpatrol.store.setMeta('batch_size', 10)")
    relay.reset_counts()
    started = time.monotonic()
    emulate(cdp)  # link up
    page.evaluate("window.gridpatrol.syncNow('bench'); null")
    if cut:
        wait(page, f"window.gridpatrol.store.pendingCount().then(n => n < {records})", timeout=60)
        emulate(cdp, offline=True)
        relay.drop()  # the link drops: every open connection dies at once
        time.sleep(2.0)
        emulate(cdp)
        page.evaluate("window.gridpatrol.syncNow('bench'); null")
    wait(page, "window.gridpatrol.store.pendingCount().then(n => n === 0)", timeout=180)
    elapsed = time.monotonic() - started
    figures = {"seconds": elapsed, "up": relay.up, "down": relay.down, "requests": len(requests) + len(failed),
               "failed_requests": len(failed)}
    context.close()
    return figures


def first_load(browser, base, code, relay):
    context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 412, "height": 860})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    emulate(cdp)
    relay.reset_counts()
    started = time.monotonic()
    page.goto(f"/app/pair?code={code}", timeout=120000)
    page.wait_for_selector("#pair-button", timeout=120000)
    usable = time.monotonic() - started
    usable_bytes = (relay.down, relay.up)
    wait(page, "caches.keys().then(async k => k.length === 1 && (await (await caches.open(k[0])).keys()).length >= 10)")
    cached = time.monotonic() - started
    context.close()
    return {"usable_s": usable, "usable_down": usable_bytes[0], "usable_up": usable_bytes[1], "offline_ready_s": cached,
            "offline_ready_down": relay.down, "offline_ready_up": relay.up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from core.db import db
    from core.models import Incident, IncidentEvent, Patrol

    app, server, codes, grid_id = build_server(args.database_url)
    relay = TcpProxy("127.0.0.1", server.server_port)  # counts the bytes each way
    base = f"http://127.0.0.1:{relay.port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            load = first_load(browser, base, codes[0], relay)
            with app.app_context():  # the first-load code was used; issue a fresh one per phone
                from core.domain.pairing import issue_pairing_code
                from core.models import Member
                fresh = [issue_pairing_code(db.session, db.session.get(Member, m), actor_label="bench").code
                         for m in (1, 2)]
                db.session.commit()
            clean = run_day(browser, base, fresh[0], grid_id, args.records, relay, cut=False, app=app)
            cut = run_day(browser, base, fresh[1], grid_id, args.records, relay, cut=True, app=app)
        finally:
            browser.close()
            server.shutdown()
    with app.app_context():
        counts = {m.__tablename__: db.session.query(m).count() for m in (Patrol, Incident, IncidentEvent)}
    per_day = {"patrols": 0, "incidents": 0, "notes": 0}
    for i in range(args.records):
        kind = i % 5
        per_day["patrols" if kind == 0 else "notes" if kind == 4 else "incidents"] += 1
    expected_incidents = 2 * per_day["incidents"]
    link = "300 ms latency, 64 kbit/s each way (Chromium network emulation on the page)"
    print(f"link: {link}")
    print(f"first load of the shell: usable in {load['usable_s']:.1f} s, {load['usable_down']/1024:.1f} KB down / "
          f"{load['usable_up']/1024:.1f} KB up; whole shell cached for offline after {load['offline_ready_s']:.1f} s, "
          f"{load['offline_ready_down']/1024:.1f} KB down / {load['offline_ready_up']/1024:.1f} KB up "
          "(wire bytes, headers included)")
    for name, f in (("link up", clean), ("link cut mid-sync for 2 s", cut)):
        print(f"{args.records} offline records, {name}: all acknowledged in {f['seconds']:.1f} s, "
              f"{f['up']/1024:.1f} KB up / {f['down']/1024:.1f} KB down, {f['requests']} sync requests "
              f"({f['failed_requests']} cut off)")
    duplicates = counts["incidents"] - expected_incidents
    whole = duplicates == 0 and counts["patrols"] == 2 * per_day["patrols"]
    print(f"server holds {counts['patrols']} patrols, {counts['incidents']} incidents, "
          f"{counts['incident_events']} events "
          f"for 2 × {args.records} records: {'no duplicates' if whole else 'DUPLICATES OR LOSSES'}")


if __name__ == "__main__":
    main()
