"""The structure stays the one the README describes: small modules, short functions where
untrusted input is read, and the import contracts complete."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("instance", "federation", "activitypub", "models")
MODULE_LINES = 420
"""About 400: a module past it holds more than one concept (STYLE.md §9)."""
TRUST_BOUNDARY = ("activitypub", "federation/inbox.py", "federation/signature_parsing.py")
"""Where JSON and headers from other servers are read."""
FUNCTION_LINES = 60


def _modules(*roots: str) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        path = ROOT / root
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def test_no_module_is_over_about_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules(*PACKAGES)
        if (n := len(p.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_no_function_on_a_trust_boundary_is_over_60_lines() -> None:
    long = {}
    for path in _modules(*TRUST_BOUNDARY):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert long == {}


def test_the_migrations_contract_forbids_every_model_module() -> None:
    """A new model module must be added to the contract, or migrations could import it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [contract] = [c for c in config["contracts"] if c.get("source_modules") == ["migrations"]]
    helpers = {"__init__", "errors", "migration_ops"}  # no values to freeze in them
    models = {f"models.{p.stem}" for p in (ROOT / "models").glob("*.py")} - {
        f"models.{h}" for h in helpers
    }
    assert models <= set(contract["forbidden_modules"])
