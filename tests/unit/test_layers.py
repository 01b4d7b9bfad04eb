"""The house's rooms stay in place: lower layers import nothing of higher ones, no domain imports
another domain's HTTP code, and no module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted([*(ROOT / "ari_app").rglob("*.py"), *(ROOT / "agi").rglob("*.py")])
MAX_LINES = 400

# package -> packages of ari_app it must never import (a lower layer never reaches up)
HIGHER = ("ari_app.acd", "ari_app.calls", "ari_app.flows", "ari_app.api", "ari_app.service", "ari_app.cli",
          "ari_app.sandbox", "agi")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "ari_app.ari": ("ari_app.",),  # the ARI client: nothing of the domains (logs aside, below)
    "ari_app.ami": HIGHER,
    "ari_app.web": ("ari_app.",),  # HTTP plumbing shared by every domain
    "ari_app.configcheck": ("ari_app.",),
    "ari_app.store": HIGHER,
    "ari_app.registry": HIGHER,
    "ari_app.seats": tuple(p for p in HIGHER if p != "ari_app.acd"),
}
ALWAYS_ALLOWED = ("ari_app.logs",)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_reaches_up_a_layer(path: Path) -> None:
    module = _name(path)
    for package, forbidden in FORBIDDEN.items():
        if not _within(module, package):
            continue
        bad = [
            name for name in _imports(path)
            if any(name.startswith(f) for f in forbidden) and not _within(name, package) and name not in ALWAYS_ALLOWED
        ]
        assert not bad, f"{module} (in {package}) imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_app_assembly_imports_a_domains_routes(path: Path) -> None:
    module = _name(path)
    routes = [name for name in _imports(path) if name.endswith(".routes") and name.startswith("ari_app.")]
    if module == "ari_app.api.app":
        assert routes, "the app assembly adds every domain's routes"
        return
    assert not routes, f"{module} imports another room's HTTP code: {routes}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"
