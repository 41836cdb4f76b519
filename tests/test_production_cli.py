"""Issue 9: the production path from a shell — reference data on `db upgrade`, `catalogue`, `areas`,
`roster import --create-parent`, and CLI commands that drain their in-process jobs before exiting."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from core.db import db
from core.models import Area, Category, Member
from tests.support.roster_helpers import GOOD_ROWS, csv_bytes

import pytest


@pytest.fixture
def gridpatrol(app, tmp_path):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "cli"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return run


def test_db_upgrade_seeds_the_standard_catalogue_once(tmp_path):
    """Failure 2: outside the demo there was no catalogue, so every report was refused."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "GRIDPATROL_INSTANCE": str(tmp_path / "i"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development"}
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "seeded the standard problem catalogue (10 categories" in first.output
    listed = runner.invoke(main, ["catalogue", "list", "--json"], env=env, catch_exceptions=False)
    rows = json.loads(listed.stdout)
    assert [r["number"] for r in rows] == list(range(1, 11))
    fireworks = next(r for r in rows if r["code"] == "fireworks")
    assert fireworks["name_zh"] == "烟花爆竹" and "鞭炮" in fireworks["keywords"] and fireworks["urgent"]
    # an office's change survives the next upgrade: nothing re-seeded
    assert runner.invoke(main, ["catalogue", "disable", "fireworks"], env=env).exit_code == 0
    again = runner.invoke(main, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert "seeded" not in again.output
    active = json.loads(runner.invoke(main, ["catalogue", "list", "--json"], env=env).stdout)
    assert "fireworks" not in [r["code"] for r in active]
    every = json.loads(runner.invoke(main, ["catalogue", "list", "--all", "--json"], env=env).stdout)
    assert next(r for r in every if r["code"] == "fireworks")["active"] is False


def test_catalogue_add_and_disable(app, gridpatrol):
    result = gridpatrol("catalogue", "add", "--number", "11", "--code", "boiler", "--zh", "燃煤锅炉",
                        "--en", "coal boiler", "--keyword", "锅炉", "--keyword", "烧锅炉")
    assert result.exit_code == 0, result.output
    dup = CliRunner().invoke(main, ["catalogue", "add", "--number", "11", "--code", "x", "--zh", "x", "--en", "x"],
                             env={"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": ""})
    assert dup.exit_code == 1 and "Error" in dup.output
    assert gridpatrol("catalogue", "disable", "11").exit_code == 0
    assert gridpatrol("catalogue", "disable", "nope").exit_code == 1
    with app.app_context():
        boiler = db.session.scalar(select(Category).where(Category.code == "boiler"))
        assert boiler.keywords == ["锅炉", "烧锅炉"] and boiler.active is False


def test_areas_add_import_list(app, gridpatrol, tmp_path):
    """Failure 4: areas could only be made through the API, which needs the server running."""
    assert gridpatrol("areas", "add", "CJ", "澄江区", "--kind", "district").exit_code == 0
    result = gridpatrol("areas", "add", "CJ05", "映月街道", "--kind", "subdistrict", "--parent", "CJ")
    assert result.exit_code == 0 and "added CJ05" in result.output
    assert "exists CJ05" in gridpatrol("areas", "add", "CJ05", "映月街道", "--parent", "CJ").output
    sheet = tmp_path / "areas.csv"
    sheet.write_text("代码,名称,类型,上级\nCJ06,望江街道,街道,CJ\nCJ05,映月街道,subdistrict,CJ\n", encoding="utf-8-sig")
    imported = gridpatrol("areas", "import", str(sheet))
    assert imported.exit_code == 0 and "1 created, 1 unchanged" in imported.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind,parent\nCJ07,某街道,subdistrict,NOPE\n", encoding="utf-8")
    refused = gridpatrol("areas", "import", str(bad))
    assert refused.exit_code == 1 and "line 2" in refused.output
    tree = gridpatrol("areas", "list")
    assert tree.output.splitlines() == ["CJ  澄江区  (district)", "  CJ05  映月街道  (subdistrict)",
                                        "  CJ06  望江街道  (subdistrict)"]


def test_roster_import_creates_the_missing_parent(app, gridpatrol, tmp_path):
    """Failure 4: `roster import --parent HD03` on a fresh install said `no area with code HD03`."""
    sheet = tmp_path / "roster.csv"
    sheet.write_bytes(csv_bytes(GOOD_ROWS))
    assert gridpatrol("roster", "import", str(sheet), "--parent", "CJ05").exit_code == 1
    dry = gridpatrol("roster", "import", str(sheet), "--parent", "CJ05", "--create-parent", "澄江区/映月街道")
    assert dry.exit_code == 0, dry.output
    assert "would create CJ, CJ05" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Area)) == 0  # a dry run keeps nothing
    done = gridpatrol("roster", "import", str(sheet), "--parent", "CJ05", "--create-parent", "澄江区/映月街道",
                      "--commit")
    assert done.exit_code == 0, done.output
    with app.app_context():
        cj05 = db.session.scalar(select(Area).where(Area.code == "CJ05"))
        assert cj05.kind == "subdistrict" and cj05.parent.code == "CJ" and cj05.parent.kind == "district"
        assert cj05.parent.name == "澄江区" and db.session.scalar(select(func.count()).select_from(Member)) > 0
    # again: the parents exist, nothing new is created
    again = gridpatrol("roster", "import", str(sheet), "--parent", "CJ05", "--create-parent", "澄江区/映月街道",
                       "--commit")
    assert again.exit_code == 0 and "created" not in again.stderr


def test_cli_drains_in_process_jobs_before_exit(tmp_path):
    """Failure 6: `alerts run` printed a shutdown traceback and lost queued texts. A real process: the
    jobs a command queues (and the jobs those queue) finish before the interpreter shuts down."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}", "GRIDPATROL_INSTANCE": str(tmp_path),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}
    from pathlib import Path
    gridpatrol = [str(Path(sys.executable).parent / "gridpatrol")]  # the installed console script
    subprocess.run(gridpatrol + ["db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    loaded = subprocess.run(gridpatrol + ["demo", "load"], env=env, capture_output=True, text=True, timeout=180)
    assert loaded.returncode == 0, loaded.stderr
    run = subprocess.run(gridpatrol + ["alerts", "run", "--now", "2026-11-30T04:20:00Z"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "cannot schedule new futures" not in run.stderr and "Traceback" not in run.stderr
    assert "left unfinished" not in run.stderr
    import sqlite3
    with sqlite3.connect(tmp_path / "d.db") as conn:
        queued = conn.execute("SELECT count(*) FROM sms_outbound WHERE state = 'queued'").fetchone()[0]
        sent = conn.execute("SELECT count(*) FROM sms_outbound WHERE state IN ('sent', 'delivered')").fetchone()[0]
    assert queued == 0 and sent > 0  # every text the run queued was handed to the (console) backend


def test_device_cli_takes_area_codes_and_prints_rejected_changes_with_reasons(app, live_server, world, tmp_path):
    """Failure 11: `device add-patrol --area` wanted a numeric id; `device sync` said only "conflicts": 2."""
    runner = CliRunner()
    phone = str(tmp_path / "phone.sqlite")
    first = runner.invoke(main, ["device", "sync", "--db", phone, "--server", live_server.url,
                                 "--token", world.device_token, "--device-id", str(world.ids["device"])])
    assert first.exit_code == 0, first.output  # the device's areas sync down to its replica
    added = runner.invoke(main, ["device", "add-patrol", "--db", phone, "--area", "hd03-1-1"])
    assert added.exit_code == 0, added.output
    unknown = runner.invoke(main, ["device", "add-patrol", "--db", phone, "--area", "XX99-1"])
    assert unknown.exit_code == 2 and "no area XX99-1" in unknown.output
    # a change the server refuses: an incident in a grid outside the device's scope
    refused = runner.invoke(main, ["device", "add-incident", "--db", phone, "--area", str(world.ids["g21"]),
                                   "--category", "5", "--description", "烧煤"])
    assert refused.exit_code == 0
    synced = runner.invoke(main, ["device", "sync", "--db", phone])
    assert synced.exit_code == 0, synced.output
    lines = synced.output.strip().splitlines()
    stats = json.loads(lines[0])
    assert stats["conflicts"] == len(lines) - 1 >= 1
    assert lines[1].startswith("rejected incidents/") and ":" in lines[1] and "no reason given" not in lines[1]
    with app.app_context():
        from core.models import Patrol
        assert db.session.scalar(select(func.count()).select_from(Patrol)) == 1
