"""The patrol app's shell is complete: every module the page or the service worker imports is a file of the
package, in the worker's shell list (so the app starts offline) and preloaded by the page (so a 2G link
fetches the modules at once rather than import by import). No browser: the import graph is read from the
files, the page and the worker from the app itself."""
from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import pytest

from tests.conftest import make_app
from web.patrol_app.views import SHELL_MODULES, STATIC

# Static relative imports, as eslint.config.js follows them: import … from './x.js', import './x.js'.
IMPORT = re.compile(r"""^\s*(?:import|export)\s(?:[^'"]*?\sfrom\s*)?['"](\.{1,2}/[^'"]+)['"]""", re.M)


def _imported_urls(entry_url: str) -> set[str]:
    """URLs of every module loaded from entry_url (a /app/… URL), the entry included."""
    seen: set[str] = set()
    pending = [entry_url]
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        file = STATIC / "sw.js" if url == "/app/sw.js" else STATIC / url.removeprefix("/app/static/")
        assert file.is_file(), f"{url} is imported but {file} does not exist"
        base = PurePosixPath(url).parent
        for spec in IMPORT.findall(file.read_text(encoding="utf-8")):
            parts: list[str] = []
            for part in (base / spec).parts:
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            pending.append(str(PurePosixPath(*parts)))
    return seen


@pytest.fixture
def client(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'shell.db'}", tmp_path, WORKERS_EMBEDDED_TIMER=False)
    return app.test_client()


def test_every_imported_module_is_in_the_shell_and_preloaded(client):
    page = client.get("/app/").get_data(as_text=True)
    worker = client.get("/app/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"^const SHELL = (.*);$", worker, re.M).group(1))
    version = json.loads(re.search(r"^const VERSION = (.*);$", worker, re.M).group(1))
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    page_modules = _imported_urls("/app/static/app.js")
    worker_modules = _imported_urls("/app/sw.js") - {"/app/sw.js"}
    assert len(page_modules) >= 15 and worker_modules and worker_modules <= page_modules
    assert page_modules <= set(shell), sorted(page_modules - set(shell))
    imported = page_modules - {"/app/static/app.js"}  # the page's own <script>
    assert preloaded == imported, sorted(preloaded ^ imported)
    assert f'<meta name="shell-version" content="{version}">' in page  # the page and the worker name one version


def test_the_shell_is_every_static_file_but_the_worker():
    on_disk = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()}
    assert set(SHELL_MODULES) == on_disk - {"sw.js"}
    assert {"app.js", "screens/today.js", "localdb.js", "outbox.js", "replica.js"} <= set(SHELL_MODULES)
