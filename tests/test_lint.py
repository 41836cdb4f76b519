"""The tree passes its linters: `ruff check` with the configuration in pyproject.toml ([tool.ruff]) — no unused
imports or variables, no undefined names, no line past the configured length — and ESLint with
eslint.config.js over every JavaScript file, at the same line length, failing on any warning."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["core", "server", "sync", "sms", "workers", "web", "tests", "bench"]
ESLINT = ROOT / "node_modules" / "eslint" / "bin" / "eslint.js"  # package-lock.json pins it; scripts/test runs npm ci
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed (CI=true: the JavaScript lint must run)", pytrace=False)
        pytest.skip("node is not installed")
    if not ESLINT.exists():
        pytest.fail("ESLint is not installed: ./scripts/test installs it (npm ci from package-lock.json)",
                    pytrace=False)
    return node


def test_eslint_finds_nothing():
    result = subprocess.run([_node(), str(ESLINT), "--format", "json", "--max-warnings", "0", "."],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    try:
        reports = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"ESLint did not run:\n{result.stdout[-2000:]}{result.stderr[-2000:]}", pytrace=False)
    problems = [f"{Path(r['filePath']).relative_to(ROOT)}:{m.get('line')}:{m.get('column')} {m.get('ruleId')} "
                f"{m['message']}" for r in reports for m in r["messages"]]
    assert not problems and result.returncode == 0, "ESLint found problems:\n" + "\n".join(problems) + result.stderr
    linted = {Path(r["filePath"]).relative_to(ROOT) for r in reports}
    sources = {path.relative_to(ROOT) for folder in CHECKED for path in (ROOT / folder).rglob("*.*js")
               if path.suffix in (".js", ".mjs")}
    assert sources and not sources - linted, f"ESLint skipped: {sorted(map(str, sources - linted))}"
