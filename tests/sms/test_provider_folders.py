"""Every SMS provider is one folder, alike: `__init__.py` (what it is), `provider.py` (the Provider subclass
the registry names), `webhook.py` exactly when it calls us (and has a view in server/webhooks/), `standin.py`
when it has an API to stand in for (every provider but the console), and nothing else but what only that
provider needs (Aliyun's approved templates)."""
from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

from sms.providers import REGISTRY
from sms.providers.base import Provider

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ROOT / "sms" / "providers"
ONLY_THEIRS = {"aliyun": {"templates.py"}}


def _folders():
    return sorted(p for p in PROVIDERS.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def test_every_provider_folder_has_the_same_files_for_the_same_roles():
    folders = _folders()
    assert {f.name for f in folders} == set(REGISTRY)
    for folder in folders:
        files = {p.name for p in folder.glob("*.py")}
        expected = {"__init__.py", "provider.py"}
        if (ROOT / "server" / "webhooks" / f"{folder.name}.py").exists():
            expected.add("webhook.py")
        if folder.name != "console":
            expected.add("standin.py")
        assert files == expected | ONLY_THEIRS.get(folder.name, set()), folder.name
        init = ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(init), f"{folder.name}/__init__.py says what the provider is"
        assert [n for n in init.body if not isinstance(n, ast.Expr)] == [], "an __init__ holds only its docstring"


def test_the_registry_names_each_folders_provider_module():
    for name, path in REGISTRY.items():
        module, _, attr = path.partition(":")
        assert module == f"sms.providers.{name}.provider", path
        assert issubclass(getattr(import_module(module), attr), Provider)
