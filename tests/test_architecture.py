"""The tree keeps its architecture: no import circles, dependencies pointing one way, core free of streamlit,
and docs/ARCHITECTURE.md naming what is really there.

Imports are read from the source (module level and inside functions alike, since a late import is a dependency
too), so a circle or an upward import cannot come back unnoticed.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "ui", "pages", "data")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imported(node: ast.AST, importer: str, is_package: bool) -> list[str]:
    """The project modules one import statement names (a `from package import submodule` names the submodule)."""
    modules = project_modules()
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in modules]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: resolve against the importing module's package
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    names = []
    for alias in node.names:
        if f"{target}.{alias.name}" in modules:
            names.append(f"{target}.{alias.name}")
        elif target in modules:
            names.append(target)
    return names


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """module -> the project modules it imports (anywhere in its body); TYPE_CHECKING blocks count too."""
    graph = {}
    for name, path in project_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = {t for node in ast.walk(tree) for t in _imported(node, name, is_package)}
        graph[name] = frozenset(targets - {name})
    return graph


def import_circles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_circle_finder_finds_a_circle():
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert import_circles(graph) == [["a", "b", "c"]]
    assert import_circles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_the_graph_sees_late_and_package_imports():
    graph = import_graph()
    assert "data.seed" in graph["core.bootstrap"]  # imported inside prepare_database()
    assert "core.imports" in graph["pages.upload_page"]  # `from core import imports`


def test_no_import_circles():
    assert import_circles(import_graph()) == []


def _layer(module: str) -> str:
    if module == "app":
        return "app"
    if module == "core.thresholds":  # the limits: plain values every layer may compare against
        return "limits"
    if module.startswith("core.platform"):
        return "platform"
    if module.startswith("core.summaries"):
        return "summaries"
    if module.startswith("core.imports"):
        return "imports"
    if module in ("core.bootstrap", "core.users_cli"):
        return "entry"
    return module.split(".")[0] if not module.startswith("core") else "domain"


# (layer, layers it must never import): dependencies point one way, pages -> ui -> core -> platform, and the seed
# (data) builds on core, which reaches data only through core.bootstrap.
FORBIDDEN = [
    ("limits", {"platform", "summaries", "domain", "imports", "entry", "data", "ui", "pages", "app"}),
    ("platform", {"domain", "summaries", "imports", "entry", "data", "ui", "pages", "app"}),
    ("summaries", {"domain", "imports", "entry", "data", "ui", "pages", "app"}),
    ("domain", {"imports", "entry", "data", "ui", "pages", "app"}),
    ("imports", {"entry", "data", "ui", "pages", "app"}),
    ("data", {"entry", "ui", "pages", "app"}),
    ("ui", {"pages", "app"}),  # ui.data prepares the database through core.bootstrap, the entry point
    ("pages", {"app", "data"}),
]


@pytest.mark.parametrize("layer, forbidden", FORBIDDEN, ids=[layer for layer, _ in FORBIDDEN])
def test_dependencies_point_one_way(layer, forbidden):
    upward = sorted(f"{module} -> {target}" for module, targets in import_graph().items() if _layer(module) == layer
                    for target in targets if _layer(target) in forbidden)
    assert upward == []


def test_core_never_imports_streamlit():
    offenders = []
    for name, path in project_modules().items():
        if not name.startswith("core"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            roots = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{name}: {root}" for root in roots if root.split(".")[0] == "streamlit"]
    assert offenders == []


ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def test_the_architecture_document_names_every_package_and_domain_module():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    expected = [f"{p.relative_to(ROOT)}/" for p in sorted((ROOT / "core").iterdir())
                if p.is_dir() and (p / "__init__.py").exists()]
    expected += [str(p.relative_to(ROOT)) for p in sorted((ROOT / "core").glob("*.py")) if p.name != "__init__.py"]
    missing = [path for path in expected if path not in text and Path(path).stem not in text]
    assert missing == []


def test_every_path_the_architecture_document_names_exists():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:core|ui|pages|data|tests|bench|tools|docs)/[\w/.*<>-]*)`", text))
    gone = sorted(path for path in named if "*" not in path and "<" not in path and not (ROOT / path).exists())
    assert gone == []
