"""Helpers shared by test packages (fixtures are registered from tests/conftest.py via pytest_plugins)."""
