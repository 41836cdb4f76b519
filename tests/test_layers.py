"""The house reads in the order of its layers (docs/architecture.md): import-linter checks the contracts in
pyproject.toml ([tool.importlinter]) — server : web > workers > sync | sms > core.domain > core.jobs |
core.settings | core.outages > core.models > core.db, with no exceptions — and these tests check what it
cannot express: no two files import each other (however indirectly), an import inside a function says why,
the foundation uses Flask only for the app and its config, and the pure rules load neither Flask nor the
database."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "server", "sync", "sms", "workers", "web")
SOURCE_FOLDERS = (*PACKAGES, "bench")
FROZEN = "versions"  # released migrations: frozen history, never edited
MODULE_NOTE = "# Imports inside"  # one note for a whole module (the CLI commands, the app factory)


def _sources(folders=SOURCE_FOLDERS) -> dict[str, Path]:
    files = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if FROZEN in path.relative_to(ROOT).parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _imports(module: str, path: Path, known: dict[str, Path]):
    """(node, target module) for every import of a module of `known`, at any depth of the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield node, name


def _comment_over(lines: list[str], lineno: int) -> str:
    """The import's own line, the run of imports it stands in, and the comment lines just above that run."""
    first = lineno - 1
    while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
        first -= 1
    while first > 0 and lines[first - 1].strip().startswith("#"):
        first -= 1
    return " ".join(lines[first:lineno])


def test_import_contracts_are_kept():
    # In a child process: import-linter's CLI configures logging with dictConfig, which disables every logger
    # that already exists in this one (the production warnings test then saw an empty log).
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_two_files_import_each_other():
    """Imports inside functions count too: hiding an import in a function does not break a cycle."""
    files = _sources()
    graph = {module: {target for _, target in _imports(module, path, files)} for module, path in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_an_import_inside_a_function_says_why():
    """A project module imported inside a function carries a `# local: why` comment (on its line or just
    above), or its module says once why its functions import lazily (a line starting `# Imports inside`)."""
    files = _sources()
    unexplained = []
    for module, path in files.items():
        text = path.read_text(encoding="utf-8")
        if any(line.startswith(MODULE_NOTE) for line in text.splitlines()):
            continue
        lines = text.splitlines()
        functions = [n for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            for node, target in _imports(module, path, files):
                if not function.lineno <= node.lineno <= (function.end_lineno or function.lineno):
                    continue
                if "# local" not in _comment_over(lines, node.lineno):
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
    assert sorted(set(unexplained)) == []


def test_the_foundation_uses_flask_only_for_the_app_and_its_config():
    """core/ may know the Flask app (a job's app context, its config); never a request, a session, `g` or
    the HTTP libraries: those belong to server/ and web/."""
    allowed = {"Flask", "current_app", "has_app_context"}
    http = ("flask_smorest", "marshmallow", "webargs", "werkzeug.wrappers", "werkzeug.exceptions", "click")
    found = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                found += [f"{path.relative_to(ROOT)}: flask.{a.name}" for a in node.names if a.name not in allowed]
            if isinstance(node, ast.Import):
                found += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names
                          if a.name == "flask" or a.name.startswith(http)]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(http):
                found.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert found == []


def test_pure_rules_and_the_foundation_load_without_flask_or_features():
    code = ("import sys; import core.domain.patrol_calendar, core.domain.errors, core.settings; "
            "assert 'flask' not in sys.modules, 'flask'; "
            "import core.models, core.domain.access, core.domain.alerts, core.domain.weekly_reports; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('server', 'sync', 'sms', 'workers', 'web')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_every_feature_table_is_on_the_metadata_for_alembic():
    code = ("from server import import_feature_models; import_feature_models(); "
            "from core.db import db; names = set(db.metadata.tables); "
            "assert {'sync_conflicts', 'sms_outbound', 'worker_patrol_windows'} <= names, sorted(names)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_the_default_zone_is_written_once():
    hits = [str(p.relative_to(ROOT)) for folder in PACKAGES
            for p in (ROOT / folder).rglob("*.py") if '"Asia/Shanghai"' in p.read_text(encoding="utf-8")]
    assert hits == ["core/settings.py"]


# What a deployed RQ queue (or cron registry) may hold: jobs are enqueued by dotted path, so moving one of
# these is a migration of the queues, not a refactor.
QUEUED_JOB_PATHS = (
    "sms.inbound.file_event_job", "sms.outbox.send_message_job", "sms.spool.replay_spool_job",
    "workers.jobs.daily_digest_job", "workers.jobs.deliver_alerts_job", "workers.jobs.missed_patrols_job",
    "workers.jobs.overdue_job", "workers.jobs.plan_windows_job", "workers.jobs.purge_roster_uploads_job",
    "workers.jobs.release_held_job",
    "workers.jobs.sms_sweep_job", "workers.jobs.weekly_report_job", "workers.periodic.tick",
)


def test_the_job_paths_a_queue_may_hold_still_resolve():
    from importlib import import_module

    from workers.periodic import PERIODIC
    for path in QUEUED_JOB_PATHS:
        module, _, attr = path.rpartition(".")
        assert callable(getattr(import_module(module), attr)), path
    assert {func for func, _queue, _interval in PERIODIC.values()} <= set(QUEUED_JOB_PATHS)
