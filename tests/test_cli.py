"""The `gridpatrol` command, run through click's CliRunner against the suite's database."""
from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import _add_feature_commands, main
from core.db import db
from core.models import Area, Assignment, AuditLog, Member
from tests.conftest import bearer
from tests.support.roster_helpers import GOOD_ROWS, csv_bytes, xlsx_bytes


@pytest.fixture
def gridpatrol(app, tmp_path):
    """Run `gridpatrol ...` against the `app` fixture's database (schema already there)."""
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "GRIDPATROL_INSTANCE": str(tmp_path / "cli"),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development", "GRIDPATROL_SMS_BACKEND": "console"}

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return run


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_admin_create_prints_a_token_that_works(app, client, gridpatrol):
    result = gridpatrol("admin", "create", "--name", "王主任", "--phone", "170 0100 0099")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("gps_") and "\n" not in token
    assert "shown once" in result.stderr
    # The token authenticates as an admin: the admin-only roster endpoint gets past auth (422: no sub-district yet).
    response = client.post("/api/v1/roster/import", headers=bearer(token), data=csv_bytes(GOOD_ROWS))
    assert response.status_code == 422 and response.get_json()["error"] == "roster_parent_needed"
    assert client.post("/api/v1/roster/import", headers=bearer(token + "x"), data=b"x").status_code == 401
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.phone == "+8617001000099"))
        assert [(a.role, a.area_id) for a in member.assignments] == [("admin", None)]
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.create"))
        assert entry.channel == "cli" and entry.entity_id == str(member.id)


def test_admin_create_refuses_bad_input_without_a_traceback(app, gridpatrol):
    result = gridpatrol("admin", "create", "--name", "王主任", "--phone", "call me")
    assert result.exit_code == 1 and "phone" in result.stderr
    result = gridpatrol("admin", "create", "--name", "王主任", "--phone", "17001000099", "--area", "NOPE")
    assert result.exit_code == 1 and "NOPE" in result.stderr
    assert _count(app, Member) == 0


def test_roster_import_dry_run_then_commit(app, world, gridpatrol, tmp_path):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx_bytes(GOOD_ROWS))
    before = (_count(app, Area), _count(app, Member), _count(app, Assignment))
    dry = gridpatrol("roster", "import", str(path), "--parent", "HD03")
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.stdout and "members +8" in dry.stdout
    assert (_count(app, Area), _count(app, Member), _count(app, Assignment)) == before
    committed = gridpatrol("roster", "import", str(path), "--parent", "HD03", "--commit", "--json")
    assert committed.exit_code == 0, committed.output
    report = json.loads(committed.stdout)
    assert report["committed"] is True and report["created"]["assignments"] == len(GOOD_ROWS)
    assert _count(app, Member) == before[1] + 8
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "roster.import"))
        assert entry.channel == "cli"


def test_roster_import_commit_with_a_bad_row_writes_nothing(app, world, gridpatrol, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS + [["新华社区", "新华一网格", "错号", "1700", "网格员"]], encoding="gb18030"))
    before = (_count(app, Area), _count(app, Member), _count(app, Assignment))
    result = gridpatrol("roster", "import", str(path), "--commit")
    assert result.exit_code == 1
    assert f"line {len(GOOD_ROWS) + 2}: phone" in result.stdout and "nothing imported" in result.stdout
    assert (_count(app, Area), _count(app, Member), _count(app, Assignment)) == before


def test_device_register_prints_a_device_token(app, world, gridpatrol):
    result = gridpatrol("device", "register", "--phone", "17000000008", "--name", "备用机")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    from core.domain.tokens import find_device
    with app.app_context():
        device = find_device(db.session, token)
        assert device.member.name == "郑巡查" and device.name == "备用机"
        assert db.session.scalar(select(AuditLog.channel).where(AuditLog.action == "device.register")) == "cli"
    unknown = gridpatrol("device", "register", "--phone", "17001009999")
    assert unknown.exit_code == 1 and "no member" in unknown.stderr


def test_demo_load_json_gives_working_credentials(app, client, gridpatrol):
    result = gridpatrol("demo", "load", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    admin_token = data["admin"]["token"]
    codes = {a["code"] for a in data["areas"]}
    assert {"CJ", "CJ05", "CJ05-1", "CJ05-13"} <= codes
    assert all(m["name"] and m["phone"].startswith("+861700") and m["roles"] for m in data["members"])
    patrollers = [m for m in data["members"] if m["roles"][0]["role"] == "patroller"]
    assert len(data["devices"]) == len(patrollers) and all(m["device_token"] for m in patrollers)
    # The admin token works on the API (the roster endpoint is admin-only).
    dry = client.post("/api/v1/roster/import?parent=CJ05", headers=bearer(admin_token),
                      data=csv_bytes([["映月社区", "映月社区第一网格", "试用者", "17001999999", "网格员"]]))
    assert dry.status_code == 200 and dry.get_json()["ok"] is True
    areas = client.get("/api/v1/areas?per_page=500", headers=bearer(admin_token))
    if areas.status_code != 404:  # the areas API lands in parallel; once it does, the demo must show in it
        assert areas.status_code == 200
        assert {"CJ05", "CJ05-1"} <= {a["code"] for a in areas.get_json()["items"]}
    assert client.get("/healthz").get_json()["database"]["ok"] is True
    from core.domain.tokens import find_device
    with app.app_context():
        device = find_device(db.session, data["devices"][0]["token"])
        assert device.member.phone == data["devices"][0]["phone"]
        assert db.session.scalar(select(AuditLog.channel).where(AuditLog.action == "demo.load")) == "cli"


def test_demo_load_twice_refuses_and_changes_nothing(app, gridpatrol):
    assert gridpatrol("demo", "load").exit_code == 0
    members = _count(app, Member)
    again = gridpatrol("demo", "load", "--json")
    assert again.exit_code == 1 and "already loaded" in again.stderr and again.stdout == ""
    assert _count(app, Member) == members


def test_db_upgrade_and_current_on_a_fresh_sqlite_file(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "GRIDPATROL_INSTANCE": str(tmp_path),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development"}
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade"], env=env)
    from server.migrate import head_revisions
    assert result.exit_code == 0 and all(head in result.stdout for head in head_revisions())  # every feature head
    current = runner.invoke(main, ["db", "current"], env=env)
    assert "current: " in current.stdout and "(empty database)" not in current.stdout
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0  # again: a no-op
    from server import create_app
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "INSTANCE_PATH": str(tmp_path), "REDIS_URL": None})
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "db.upgrade")).all()
        assert [(e.channel, e.summary["from"]) for e in entries] == [("cli", [])]
        db.engine.dispose()


def test_feature_packages_can_add_commands(monkeypatch, tmp_path):
    import server.cli.sms

    from flask import current_app
    from flask.cli import with_appcontext

    @click.command("sms-selftest")
    @with_appcontext
    def selftest():  # feature commands use with_appcontext; the app comes from the CLI's ScriptInfo
        click.echo(current_app.config["SQLALCHEMY_DATABASE_URI"])
        click.echo(current_app.config["WORKERS_EMBEDDED_TIMER"])

    monkeypatch.setattr(server.cli.sms, "commands", [selftest])
    _add_feature_commands()
    try:
        env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'feature.db'}", "REDIS_URL": "", "GRIDPATROL_ENV": "development"}
        result = CliRunner().invoke(main, ["sms-selftest"], env=env)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [env["DATABASE_URL"], "False"]
    finally:
        main.commands.pop("sms-selftest", None)


def test_db_upgrade_refuses_a_create_all_database_until_stamped(tmp_path):
    from server import create_app
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": None})
    with legacy.app_context():
        db.create_all()
        db.engine.dispose()
    env = {"DATABASE_URL": url, "GRIDPATROL_INSTANCE": str(tmp_path), "REDIS_URL": "", "GRIDPATROL_ENV": "development"}
    runner = CliRunner()
    refused = runner.invoke(main, ["db", "upgrade"], env=env)
    assert refused.exit_code == 1 and "db stamp heads" in refused.stderr
    assert runner.invoke(main, ["db", "stamp"], env=env).exit_code == 0
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0


def test_token_issue_for_leaders_only(app, world, gridpatrol):
    from core.domain.tokens import find_staff_token
    result = gridpatrol("token", "issue", "--phone", "17000000003", "--days", "30")
    assert result.exit_code == 0, result.output
    with app.app_context():
        record = find_staff_token(db.session, result.stdout.strip())
        assert record.member.name == "钱社区" and record.expires_at is not None
    refused = gridpatrol("token", "issue", "--phone", "17000000007")
    assert refused.exit_code == 1 and "device" in refused.stderr


def test_commands_on_an_unmigrated_database_say_what_to_do(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "GRIDPATROL_INSTANCE": str(tmp_path),
           "REDIS_URL": "", "GRIDPATROL_ENV": "development"}
    result = CliRunner().invoke(main, ["admin", "create", "--name", "王主任", "--phone", "17001000099"], env=env)
    assert result.exit_code == 1 and "gridpatrol db upgrade" in result.stderr


def test_no_tokens_for_removed_members(app, client, world, gridpatrol):
    assert client.delete(f"/api/v1/members/{world.ids['patroller2']}",
                         headers=bearer(world.tokens["admin"])).status_code in (200, 204)
    device = gridpatrol("device", "register", "--phone", "17000000008")
    assert device.exit_code == 1 and "removed" in device.stderr and device.stdout == ""
    admin = gridpatrol("admin", "create", "--name", "郑巡查", "--phone", "17000000008")
    assert admin.exit_code == 1 and admin.stdout == ""


def test_a_feature_group_named_like_a_core_group_extends_it(monkeypatch):
    import server.cli.sync

    @click.group("device")
    def feature_device():
        pass

    @feature_device.command("probe")  # not "pair": the patrol app (issue 11) owns `device pair`
    def probe():
        click.echo("paired")

    monkeypatch.setattr(server.cli.sync, "commands", [feature_device])
    _add_feature_commands()
    try:
        device_group = main.commands["device"]
        assert {"register", "probe"} <= set(device_group.commands)
        assert CliRunner().invoke(main, ["device", "probe"]).stdout == "paired\n"
    finally:
        main.commands["device"].commands.pop("probe", None)
