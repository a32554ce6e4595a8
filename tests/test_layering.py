"""Data flows one way: core -> engine -> analyses -> faces. Read from the source, imports inside
functions included, so a lazy import cannot hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("costmodel", "probes", "claims", "tco")

# What each layer may import from this project (prefixes); anything else in the project is a violation.
ALLOWED = {
    "costmodel.core": ("costmodel.core", "costmodel.text"),
    "costmodel.text": (),
    "costmodel.paths": (),
    "costmodel.model": ("costmodel.model",),
    "costmodel.io": ("costmodel.io", "costmodel.model", "costmodel.paths", "costmodel.text"),
    "costmodel.engine": ("costmodel.engine", "costmodel.core", "costmodel.model", "costmodel.text"),
    "costmodel": ("costmodel",),  # the analyses on top of the engine, and the package's own API
    "probes": ("probes", "costmodel.model", "costmodel.io", "costmodel.paths", "costmodel.text"),
    "claims": ("claims", "costmodel"),  # the debate's claims, checked with the engine
    "tco": ("tco", "costmodel", "probes", "claims"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def project_imports(path: Path) -> set[str]:
    """Project modules ``path`` imports; ``from pkg import mod`` counts as ``pkg.mod``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{a.name}" if is_module(f"{node.module}.{a.name}") else node.module for a in node.names
            ]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] in PACKAGES}
    return found


def layer_of(module: str) -> str:
    return max((k for k in ALLOWED if module == k or module.startswith(k + ".")), key=len)


MODULES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path):
    module = module_name(path)
    allowed = ALLOWED[layer_of(module)]
    wrong = sorted(i for i in project_imports(path) if not any(i == a or i.startswith(a + ".") for a in allowed))
    assert not wrong, f"{module} ({layer_of(module)}) may not import {wrong}"


def test_costmodel_never_imports_probes_or_faces():
    for path in (ROOT / "costmodel").rglob("*.py"):
        assert not {i for i in project_imports(path) if i.split(".")[0] in ("probes", "tco")}, path


def test_no_import_cycle_between_modules():
    graph = {module_name(p): {i for i in project_imports(p)} for p in MODULES}
    known = set(graph)

    def resolve(name: str) -> str | None:  # "from costmodel.engine import x" names the package module
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges = {m: {r for i in deps if (r := resolve(i)) and r != m} for m, deps in graph.items()}
    # a package's __init__ re-exporting its modules is not a cycle through them
    edges = {
        m: {
            d
            for d in deps
            if not (d.startswith(m + ".") and m in {module_name(p) for p in MODULES if p.name == "__init__.py"})
        }
        for m, deps in edges.items()
    }
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in edges.get(m, ()):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(d) :], d]))
            if d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
