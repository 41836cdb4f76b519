"""The production install without extras starts every process (issue 9, failure 1: `pip install .` with
REDIS_URL died on `No module named 'six'` from rq-dashboard). Web (gunicorn, 2 workers), an RQ worker and
the cron scheduler run from a fresh venv holding only the wheel and its declared dependencies, against a
fresh PostgreSQL database and the suite's Redis db, with the Procfile's command lines."""
from __future__ import annotations

import json
import time

import pytest

from tests.conftest import POSTGRES_URL, flush_test_redis
from tests.support.plain_install import Processes, free_port, fresh_postgres_database, production_env, wait_for_http

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow_start]


def test_plain_install_starts_web_worker_and_cron(plain_bin, postgres_url, redis_url, tmp_path):
    from redis import Redis
    from rq import Queue, Worker
    name = POSTGRES_URL.rpartition("/")[2].split("?")[0] + "_plain"
    database_url = fresh_postgres_database(postgres_url, name)
    flush_test_redis(redis_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs, production_env(plain_bin, database_url, redis_url, tmp_path / "instance"))
    try:
        # rq-dashboard is not installed, and nothing needs it
        probe = procs.run([str(plain_bin / "python"), "-c", "import importlib.util as u; "
                           "print(u.find_spec('rq_dashboard') is None, u.find_spec('pytest') is None)"])
        assert probe.stdout.split() == ["True", "True"]
        upgraded = procs.run(["gridpatrol", "db", "upgrade"])
        assert "seeded the standard problem catalogue" in upgraded.stdout
        assert "烟花爆竹" in procs.run(["gridpatrol", "catalogue", "list"]).stdout
        procs.run(["gridpatrol", "areas", "add", "CJ", "澄江区", "--kind", "district"])
        # the understanding model retrains on the production install (scikit-learn is a runtime dependency)
        assert "(0 from recategorisations)" in procs.run(["gridpatrol", "understanding", "retrain"]).stdout
        port = free_port()
        procs.start("web", ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60",
                            "server:create_app()"])
        procs.start("worker", ["gridpatrol", "worker"])
        procs.start("cron", ["gridpatrol", "cron"])
        health = json.loads(wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90))
        assert health["status"] == "ok" and health["jobs"] == "rq"
        warnings = " ".join(health["warnings"])
        assert "sms_console" in warnings and "no_schedule" in warnings and "empty_catalogue" not in warnings
        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Worker.all(connection=connection):
            time.sleep(0.5)
        assert Worker.all(connection=connection), procs.log_text()
        job = Queue("sms", connection=connection).enqueue("workers.jobs.sms_sweep_job")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and job.get_status(refresh=True) not in ("finished", "failed"):
            time.sleep(0.3)
        assert job.get_status(refresh=True) == "finished", procs.log_text()
        for name_, process in procs.children.items():
            assert process.poll() is None, f"{name_} exited:\n{procs.log_text()}"
        text = procs.log_text()
        assert "PRODUCTION WARNING sms_console" in text
        assert "Traceback" not in text and "ModuleNotFoundError" not in text, text
    finally:
        procs.stop_all()


def test_the_wheel_holds_every_package_and_its_data(plain_bin):  # noqa: F811
    """Every file git tracks under the six packages (modules, migrations, templates, static files, the
    understanding's data, the providers' stand-ins) is in the installed wheel: a new package or data folder
    missing from pyproject's find list or package-data fails here, not in production."""
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    packages = ("core", "server", "sync", "sms", "workers", "web")
    tracked = set(subprocess.run(["git", "ls-files", *packages], cwd=root, capture_output=True, text=True,
                                 check=True).stdout.split())
    listing = subprocess.run([str(plain_bin / "python"), "-c", (
        "import importlib.util as u, pathlib; "
        f"packages = {packages!r}; "
        "roots = {p: pathlib.Path(u.find_spec(p).submodule_search_locations[0]) for p in packages}; "
        "print('\\n'.join(f'{p}/{f.relative_to(r)}' for p, r in roots.items() for f in r.rglob('*') "
        "if f.is_file() and '__pycache__' not in f.parts))")], capture_output=True, text=True, check=True)
    installed = set(listing.stdout.split())
    assert sorted(tracked - installed) == []
