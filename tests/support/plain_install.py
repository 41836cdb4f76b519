"""The production install as an office gets it: the wheel built from this checkout, installed WITHOUT extras
into a fresh venv (no test packages, no rq-dashboard), run against its own PostgreSQL database and the
suite's Redis db. Used by tests/test_plain_install.py and the scripted day in tests/e2e/.

A dependency only the test extra brings in is a production crash; this is where it shows.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Never copied into the wheel's build folder: what git ignores, and git itself. (setuptools builds in the source
# tree's build/, which would keep modules a change deleted and let two builds trip over each other.)
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "instance",
                                    "test-artifacts", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis",
                                    ".ruff_cache", "results")


def build_plain_venv(where: Path) -> Path:
    """Build the wheel from a clean copy of this checkout and pip-install it (no extras) into a new venv;
    returns the venv's bin folder."""
    wheels, source = where / "wheel", where / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                    "-w", str(wheels), str(source)], check=True, timeout=600, cwd=where)
    [wheel] = list(wheels.glob("gridpatrol-*.whl"))
    venv = where / "venv"
    # The suite's pip installs into the new venv (`pip --python`), which saves seeding a pip of its own. What
    # gets installed, the wheel and its declared dependencies, byte-compiled, is what an office's `pip install`
    # gives. (Not compiling would cost more than it saves: with PYTHONDONTWRITEBYTECODE set, as on the CI
    # machine, every process would compile everything it imports at each start.)
    options = ["install", "--quiet", "--disable-pip-version-check", str(wheel)]
    if _pip_version() >= (22, 3):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), *options],
                       check=True, timeout=900)
    else:  # an older pip has no --python: the venv brings its own
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *options], check=True, timeout=900)
    return venv / "bin"


def _pip_version() -> tuple[int, ...]:
    from importlib.metadata import version
    return tuple(int(part) for part in version("pip").split(".")[:2] if part.isdigit())


def fresh_postgres_database(base_url: str, name: str) -> str:
    import psycopg
    base = base_url.rpartition("/")[0]
    with psycopg.connect(f"{base}/postgres", connect_timeout=5, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@dataclass
class Processes:
    """Child processes with their logs in one folder; everything is killed at the end."""

    logs: Path
    env: dict
    children: dict = field(default_factory=dict)

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.logs,
                                   start_new_session=True, **kwargs)
        self.children[name] = process
        return process

    def run(self, argv: list[str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.logs)
        with open(self.logs / "commands.log", "a") as log:
            log.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def stop_all(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for process in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)

    def log_text(self) -> str:
        return "\n".join(f"==== {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self.logs.glob("*.log")))


def wait_for_http(url: str, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=3) as response:
                return response.read()
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout}s: {last}")


@pytest.fixture(scope="session")
def plain_bin(tmp_path_factory) -> Path:
    """One fresh plain install per test run (a few tens of seconds, most of it pip), shared by the xdist
    workers: the first to ask builds it under a file lock in the run's temporary folder, the others wait."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-<n>/ is this run's
    where = shared / "plain-install"
    with open(shared / "plain-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (where / "failed.txt").exists():
            pytest.fail((where / "failed.txt").read_text(), pytrace=False)
        if not (where / "built").exists():
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
            try:
                build_plain_venv(where)
            except subprocess.CalledProcessError as exc:
                (where / "failed.txt").write_text(f"the wheel does not install without extras: {exc}")
                pytest.fail((where / "failed.txt").read_text(), pytrace=False)
            (where / "built").touch()
    return where / "venv" / "bin"


def production_env(bin_dir: Path, database_url: str, redis_url: str, instance: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDPATROL_", "TWILIO_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    env.update({"PATH": f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", "GRIDPATROL_ENV": "production",
                "DATABASE_URL": database_url, "REDIS_URL": redis_url, "GRIDPATROL_SECRET_KEY": "plain-install-test-key",
                "GRIDPATROL_INSTANCE": str(instance), "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
