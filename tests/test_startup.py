"""Starting the service: production refuses to start without its secrets, the embedded run prepares itself,
and the OpenAPI document of the whole API is valid."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate
from sqlalchemy import select

from server import create_app
from server.cli import main
from server.config import ConfigError, load_config
from core.db import db
from tests.conftest import bearer


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("GRIDPATROL_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nowhere")
    monkeypatch.delenv("GRIDPATROL_SECRET_KEY", raising=False)
    monkeypatch.delenv("GRIDPATROL_SMS_BACKEND", raising=False)


def test_production_without_secret_key_names_the_variable(production_env):
    with pytest.raises(ConfigError, match="GRIDPATROL_SECRET_KEY"):
        load_config()
    with pytest.raises(ConfigError, match="GRIDPATROL_SECRET_KEY"):
        create_app()  # what gunicorn 'server:create_app()' runs


def test_production_cli_exits_with_the_variable_name(production_env):
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "GRIDPATROL_SECRET_KEY" in result.stderr and "Traceback" not in result.output


def test_production_with_secret_starts(production_env, monkeypatch):
    monkeypatch.setenv("GRIDPATROL_SECRET_KEY", "s3cret-for-the-test")
    assert load_config()["SECRET_KEY"] == "s3cret-for-the-test"


def test_openapi_document_validates(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert "/api/v1/roster/import" in spec["paths"] and "/healthz" in spec["paths"]


def test_embedded_run_migrates_loads_the_demo_and_prints_a_working_token(tmp_path):
    from server.embedded import CREDENTIALS_FILE, prepare_embedded
    from server.migrate import current_revisions, head_revisions
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.db'}", "INSTANCE_PATH": str(tmp_path),
                      "REDIS_URL": None, "TESTING": True})
    banner = prepare_embedded(app, with_demo=True, host="127.0.0.1", port=8299)
    assert current_revisions(app) == head_revisions()
    assert "http://127.0.0.1:8299" in banner and "curl -H 'Authorization: Bearer gps_" in banner
    assert (tmp_path / CREDENTIALS_FILE).exists()
    token = banner.split("token to try (admin): ")[1].split()[0]
    client = app.test_client()
    assert client.post("/api/v1/roster/import", headers=bearer(token), data=b"x").status_code != 401
    # A second start keeps the data and issues a fresh token, which works too.
    again = prepare_embedded(app, with_demo=True, host="127.0.0.1", port=8299)
    assert "already loaded" in again
    second = again.split("token to try (admin): ")[1].split()[0]
    assert second != token
    assert client.post("/api/v1/roster/import", headers=bearer(second), data=b"x").status_code != 401
    from core.models import Area
    with app.app_context():
        assert len(db.session.scalars(select(Area).where(Area.code == "CJ05")).all()) == 1
        db.engine.dispose()


def test_serve_command_prints_the_banner_and_runs_one_embedded_app(tmp_path, monkeypatch):
    import server.embedded
    started = {}

    def fake_run(app, host, port):
        started.update(app=app, host=host, port=port)

    monkeypatch.setattr(server.embedded, "run_embedded", fake_run)
    # The env switch keeps the workers' periodic timer from beating in the test process; the CLI itself must
    # not force it off for serve (asserted below).
    env = {"DATABASE_URL": "", "REDIS_URL": "", "GRIDPATROL_INSTANCE": str(tmp_path), "GRIDPATROL_ENV": "development",
           "GRIDPATROL_SMS_BACKEND": "console", "GRIDPATROL_WORKERS_EMBEDDED_TIMER": "false"}
    result = CliRunner().invoke(main, ["serve", "--demo", "--port", "8298"], env=env)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8298" in result.stdout and "token to try (admin): gps_" in result.stdout
    assert started["port"] == 8298 and "WORKERS_EMBEDDED_TIMER" not in started["app"].config  # timer allowed
    assert (tmp_path / "gridpatrol.db").exists()
    timer = started["app"].extensions.get("gridpatrol.timer")
    if timer is not None:
        timer.stop()
    with started["app"].app_context():
        db.engine.dispose()
