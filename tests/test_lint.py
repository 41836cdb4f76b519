"""The tree passes `ruff check` with the configuration in pyproject.toml ([tool.ruff]): no unused imports or
variables, no undefined names, no line past the configured length outside the files listed there."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["server", "sync", "sms", "workers", "web", "tests", "bench"]


def _ruff() -> list[str]:
    beside_python = Path(sys.executable).with_name("ruff")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: it is part of the test extra (pip install -e '.[test]')", pytrace=False)
    return [found]


def test_ruff_check_finds_nothing():
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", *CHECKED],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
