"""The house reads in the order of its layers: import-linter checks the contracts in pyproject.toml
([tool.importlinter]) — adapters > workers > sync, sms > domain, jobs > models, no feature importing
another in a circle — and that the pure rules load neither Flask nor the database."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    # In a child process: import-linter's CLI configures logging with dictConfig, which disables every logger
    # that already exists in this one (the production warnings test then saw an empty log).
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pure_rules_and_the_foundation_load_without_flask_or_features():
    code = ("import sys; import core.domain.patrol_calendar, core.domain.errors, core.settings; "
            "assert 'flask' not in sys.modules, 'flask'; "
            "import core.models; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('sync', 'sms', 'workers')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_every_feature_table_is_on_the_metadata_for_alembic():
    code = ("from server import import_feature_models; import_feature_models(); "
            "from core.db import db; names = set(db.metadata.tables); "
            "assert {'sync_conflicts', 'sms_outbound', 'worker_patrol_windows'} <= names, sorted(names)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_the_default_zone_is_written_once():
    hits = [str(p.relative_to(ROOT)) for folder in ("core", "server", "sync", "sms", "workers", "web")
            for p in (ROOT / folder).rglob("*.py") if '"Asia/Shanghai"' in p.read_text(encoding="utf-8")]
    assert hits == ["core/settings.py"]
