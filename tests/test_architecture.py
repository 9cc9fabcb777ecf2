"""The shape of the code: every module says what it is for and stays small; no package escapes
the import contracts (`make lint` runs them with import-linter)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import REPO

MAX_LINES = 400
MODULES = sorted(p for package in ("daemon", "ingress") for p in (REPO / package).rglob("*.py"))
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _contract(contract_id: str) -> dict[str, Any]:
    (contract,) = [c for c in CONTRACTS if c["id"] == contract_id]
    return contract


def test_the_modules_are_found() -> None:
    assert len(MODULES) > 50
    assert REPO / "daemon" / "runtime" / "startup.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_starts_with_a_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstring = ast.get_docstring(tree, clean=True)
    assert docstring, f"{_name(path)} does not start with a docstring"
    assert docstring.splitlines()[0].strip(), f"{_name(path)}: the docstring's first line is empty"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_under_the_size_limit(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines (at most {MAX_LINES})"


def test_every_daemon_package_is_placed_by_a_contract() -> None:
    """A new package under daemon/ must be given a layer (or join the kernel): nothing escapes
    the import rules by being left out of them."""
    layers = {m.strip() for layer in _contract("layers")["layers"] for m in layer.split("|")}
    kernel = {m for m in _contract("kernel")["source_modules"] if m.count(".") == 1}
    placed = layers | kernel | {"daemon.resolve_agent"}
    children = {
        f"daemon.{p.stem if p.is_file() else p.name}"
        for p in (REPO / "daemon").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert children - placed == set()
    assert placed - {"ingress"} <= children, "a contract names a package that no longer exists"


def test_only_the_catalog_is_left_out_of_the_door_contract() -> None:
    """Every package but the catalog is held to "no peewee, no models" (the catalog's door)."""
    layers = {m.strip() for layer in _contract("layers")["layers"] for m in layer.split("|")}
    kernel = {m for m in _contract("kernel")["source_modules"] if m.count(".") == 1}
    sources = set(_contract("catalog-door")["source_modules"])
    assert sources == (layers | kernel | {"daemon.resolve_agent"}) - {"daemon.catalog"}
