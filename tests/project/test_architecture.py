"""The import graph of ``audit/``, read from the source with ``ast``: one way through the stages.

Fails on (a) an import cycle between modules, (b) a private name (``_x``) imported from another
module, or (c) an upward arrow: a module importing a stage above its own in ``STAGES``. Every import
counts — module level, inside functions, and under ``TYPE_CHECKING``. ``audit/__init__.py`` (the
public façade) may import anything. The checker itself is tested on small fake packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

#: The stages, lowest first. A module may import its own stage or one below it, never one above.
STAGES: tuple[tuple[str, ...], ...] = (
    ("audit.errors", "audit.util"),  # shared by every stage; imports no stage
    ("audit.inputs",),  # files, the engines' file helpers, models, provenance, outcome coding
    ("audit.tables",),  # counts
    ("audit.measures",),  # numbers
    # The policy is data, validated against the measures' vocabulary (metric names), and read by the
    # judge: so it sits between them; measures name the little they read of it as protocols.
    ("audit.policy",),
    ("audit.judge",),  # statuses (and the baseline comparison)
    ("audit.report",),  # the evidence document and every renderer
    ("audit.signing",),  # signatures, verification, the ledger
    # where the stages are connected; `probe` collects a served model's outcomes and audits them with the pipeline
    (
        "audit.pipeline",
        "audit.flow",
        "audit.outputs",
        "audit.recompute",
        "audit.tracking",
        "audit.probe",
    ),
    ("audit.cli", "audit.cli_options", "audit.__main__"),
)
FACADE = "audit"

INTERFACE_STAGES = ("inputs", "tables", "measures", "policy", "judge", "report", "signing")


def modules_of(root: Path) -> dict[str, Path]:
    package = root.name
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """(module → modules it imports, cross-module private imports as readable lines)."""
    modules = modules_of(root)
    package = root.name
    edges: dict[str, set[str]] = {}
    private: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        out: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.split(".")[0] == package)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                if target.split(".")[0] != package:
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    if full in modules:
                        out.add(full)
                        continue
                    out.add(target)
                    if _is_private(alias.name) and target != module:
                        private.append(f"{module} imports {full}")
            elif isinstance(node, ast.Attribute) and _is_private(node.attr):
                dotted = _dotted(node.value)
                if dotted in modules and dotted != module:
                    private.append(f"{module} uses {dotted}.{node.attr}")
        edges[module] = {_owner(t, modules) for t in out if _owner(t, modules) not in (None, module)}
    return edges, private


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _owner(target: str, modules: dict[str, Path]) -> str | None:
    """The module ``target`` names (``a.b.c`` → ``a.b`` when ``c`` is a name in it)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, ignoring the trivial loops a
    package's ``__init__`` makes by re-exporting its own children."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    packages = {m for m in edges if any(o.startswith(m + ".") for o in edges)}
    return [c for c in found if len([m for m in c if m not in packages]) > 1]


def rank(module: str, stages: tuple[tuple[str, ...], ...]) -> int | None:
    for i, prefixes in enumerate(stages):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def upward(edges: dict[str, set[str]], stages: tuple[tuple[str, ...], ...], facade: str) -> list[str]:
    out = []
    for module, targets in sorted(edges.items()):
        if module == facade:
            continue
        mine = rank(module, stages)
        for target in sorted(targets):
            theirs = rank(target, stages)
            if target != facade and mine is not None and theirs is not None and theirs > mine:
                out.append(f"{module} (stage {mine}) imports {target} (stage {theirs})")
    return out


def unplaced(edges: dict[str, set[str]], stages: tuple[tuple[str, ...], ...], facade: str) -> list[str]:
    return sorted(m for m in edges if m != facade and rank(m, stages) is None)


# --- the real package ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return imports_of(REPO / "audit")


def test_no_import_cycle(graph):
    assert cycles(graph[0]) == []


def test_no_private_name_imported_across_modules(graph):
    assert graph[1] == []


def test_no_upward_arrow(graph):
    assert upward(graph[0], STAGES, FACADE) == []


def test_every_module_has_a_stage(graph):
    assert unplaced(graph[0], STAGES, FACADE) == []


@pytest.mark.parametrize("stage", INTERFACE_STAGES)
def test_every_stage_has_an_interface(stage):
    path = REPO / "audit" / stage / "interface.py"
    assert path.is_file()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path}: the interface says in its docstring what the stage hands on"
    exported = next(
        (
            n
            for n in tree.body
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
        ),
        None,
    )
    assert exported is not None, f"{path}: no __all__"


@pytest.mark.parametrize("stage", INTERFACE_STAGES)
def test_every_interface_name_exists(stage):
    import importlib

    module = importlib.import_module(f"audit.{stage}.interface")
    for name in module.__all__:
        assert hasattr(module, name), f"audit.{stage}.interface.__all__ names {name!r}, which it lacks"


# --- the checker can fail ----------------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_checker_finds_a_cycle_even_through_a_function_level_import(tmp_path):
    root = _package(tmp_path, {"a.py": "from pkg.b import x\n", "b.py": "x = 1\ndef f():\n    from pkg import a\n"})
    edges, _ = imports_of(root)
    assert cycles(edges) == [["pkg.a", "pkg.b"]]


def test_checker_finds_a_cycle_under_type_checking_and_relative_imports(tmp_path):
    root = _package(
        tmp_path,
        {
            "sub/__init__.py": "",
            "sub/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import y\n",
            "c.py": "from .sub.a import z\ny = 1\n",
        },
    )
    edges, _ = imports_of(root)
    assert cycles(edges) == [["pkg.c", "pkg.sub.a"]]


def test_checker_ignores_a_package_reexporting_its_children(tmp_path):
    root = _package(tmp_path, {"sub/__init__.py": "from pkg.sub.a import f\n", "sub/a.py": "import pkg.sub\nf = 1\n"})
    edges, _ = imports_of(root)
    assert cycles(edges) == []


def test_checker_finds_private_imports_and_uses(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "_x = 1\ndef _f(): pass\n",
            "b.py": "from pkg.a import _x\nimport pkg.a\npkg.a._f()\n",
            "c.py": "from pkg.a import __doc__\n_y = 2\nprint(_y)\n",
        },
    )
    _, private = imports_of(root)
    assert private == ["pkg.b imports pkg.a._x", "pkg.b uses pkg.a._f"]


def test_checker_finds_an_upward_arrow(tmp_path):
    root = _package(
        tmp_path,
        {
            "low.py": "def f():\n    from pkg.high import g\n",
            "high.py": "g = 1\n",
            "__init__.py": "from pkg.high import g\n",
        },
    )
    edges, _ = imports_of(root)
    stages = (("pkg.low",), ("pkg.high",))
    assert upward(edges, stages, "pkg") == ["pkg.low (stage 0) imports pkg.high (stage 1)"]
    assert upward(edges, (("pkg.high",), ("pkg.low",)), "pkg") == []
    assert unplaced(edges, (("pkg.low",),), "pkg") == ["pkg.high"]
