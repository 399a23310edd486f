"""The layering of DESIGN.md is enforced: import-linter keeps it, and breaks on a violation.

roof (``cxbroker``) -> ``producers`` | ``consumers`` (independent) -> ``broker`` ->
``contracts``; nothing in the product imports ``bench`` or ``tests``. Project imports
inside functions hide the graph from readers and from the linter: each needs a comment
saying why (an optional dependency, start-up cost).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

ROOT = REPO
PACKAGES = ("cxbroker", "producers", "consumers", "broker", "contracts", "bench", "tests")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_layering_contract_is_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


#: A module of one layer importing what it must not, and what the linter then says.
VIOLATIONS = [
    ("producers/_probe.py", "consumers.errors", "producers is not allowed to import consumers"),
    ("consumers/_probe.py", "cxbroker.cli", "consumers is not allowed to import cxbroker"),
    ("broker/_probe_up.py", "producers.errors", "broker is not allowed to import producers"),
    ("contracts/_probe.py", "broker.settings", "contracts is not allowed to import broker"),
    ("broker/_probe_tests.py", "tests.support.waiting", "broker._probe_tests -> tests.support"),
]


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    for module, forbidden, _ in VIOLATIONS:
        (tree / module).write_text(f"import {forbidden}  # noqa: F401\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    for _, _, message in VIOLATIONS:
        assert message in result.stdout, result.stdout[-3000:]


def _inner_project_imports(path: Path) -> list[str]:
    """Project imports inside a function with no comment on their line or the one above."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.module:
                module = inner.module
            elif isinstance(inner, ast.Import):
                module = inner.names[0].name
            else:
                continue
            if module.split(".")[0] not in PACKAGES:
                continue
            here = lines[inner.lineno - 1]
            above = lines[inner.lineno - 2] if inner.lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {here.strip()}")
    return found


def test_no_project_import_hides_inside_a_function() -> None:
    found = [
        hit
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in _inner_project_imports(path)
    ]
    assert found == []


def _imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``path`` imports at its top level (a package counts as its
    ``__init__`` unless a submodule of it is named)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            named = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
            found |= named or ({node.module} & modules.keys())
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & modules.keys()
    return found


def test_no_import_cycle_between_modules() -> None:
    modules = {}
    for package in PACKAGES[:5]:  # the product, not bench or tests
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    graph = {name: _imports_of(path, modules) - {name} for name, path in modules.items()}
    # Depth-first search for a back edge; the path to it is the cycle.
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_every_product_module_stays_under_400_lines() -> None:
    """Modules of the product (not tests or benchmarks) are split by concern before they
    grow past 400 lines (the layout's rule)."""
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in ("cxbroker", "producers", "consumers", "broker", "contracts")
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not too_long
