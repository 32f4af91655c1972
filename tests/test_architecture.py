"""The package layout: no import cycles, lower layers never import higher ones, tests mirror it.

Every ``import`` statement of ``mam_lib`` counts, including those inside functions (a lazy
import still ties two modules together). Run this file as a script to print the graph's summary:
``.venv/bin/python tests/test_architecture.py``.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mam_lib"

#: Layers, lowest first. A module may import its own subpackage or any lower layer; subpackages
#: of one rank are independent of each other. ``mam_lib`` itself (the top-level ``__init__``)
#: re-exports the public API and sits above everything it re-exports.
LAYERS: dict[str, int] = {
    "errors": 0,
    "io": 1,
    "inference": 2,
    "data": 3,
    "evaluation": 3,
    "training": 4,
    "teaching": 5,
    "widget": 5,
    "cli": 6,
    "": 7,
}


def module_name(path: Path, root: Path) -> str:
    """``root/a/b.py`` → ``pkg.a.b`` and ``root/a/__init__.py`` → ``pkg.a``, with ``pkg`` = ``root.name``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports (any statement anywhere in the file)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in files else source)
            for target in targets:
                while target and target not in files:  # `import pkg.a.b` names pkg.a.b; keep known modules
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> str:
    """The subpackage (or top-level module) a ``mam_lib`` module belongs to; ``""`` for the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for every import of a higher layer, or of another subpackage of the same rank."""
    bad = []
    for source, targets in sorted(graph.items()):
        src = layer_of(source)
        for target in sorted(targets):
            dst = layer_of(target)
            if dst != src and LAYERS[dst] >= LAYERS[src]:
                bad.append(f"{source} ({src}) -> {target} ({dst})")
    return bad


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted({layer_of(m) for m in import_graph(PACKAGE)} - set(LAYERS))
    assert not unknown, f"add these subpackages to LAYERS in {Path(__file__).name}: {unknown}"


def test_the_package_has_no_import_cycles():
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_lower_layers_never_import_higher_ones():
    bad = layer_violations(import_graph(PACKAGE))
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_checks_see_lazy_imports_cycles_and_layer_breaks(tmp_path):
    """The graph must catch what the checks exist for: a cycle through a function-level import,
    and an import from a lower layer into a higher one."""
    pkg = tmp_path / "mam_lib"
    (pkg / "inference").mkdir(parents=True)
    (pkg / "training").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "inference" / "__init__.py").write_text("")
    (pkg / "training" / "__init__.py").write_text("")
    (pkg / "inference" / "a.py").write_text("from . import b\n")
    (pkg / "inference" / "b.py").write_text("def f():\n    from .a import g\n    from ..training.loop import h\n")
    (pkg / "training" / "loop.py").write_text("from ..inference.a import x\nimport mam_lib.inference.b\n")
    graph = import_graph(pkg)
    assert graph["mam_lib.inference.b"] == {"mam_lib.inference.a", "mam_lib.training.loop"}
    assert graph["mam_lib.training.loop"] == {"mam_lib.inference.a", "mam_lib.inference.b"}
    assert ["mam_lib.inference.a", "mam_lib.inference.b", "mam_lib.training.loop"] in cycles(graph)
    assert layer_violations(graph) == ["mam_lib.inference.b (inference) -> mam_lib.training.loop (training)"]


def test_the_inference_path_loads_nothing_of_the_higher_layers():
    """``import mam_lib`` and a prediction's modules load no data, training, evaluation, teaching,
    widget or CLI code (and so none of their dependencies)."""
    code = ("import sys, mam_lib, mam_lib.inference.predictor; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('mam_lib.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=REPO).stdout.split()
    assert "mam_lib.inference.predictor" in loaded
    higher = sorted(m for m in loaded if LAYERS[layer_of(m)] > LAYERS["inference"])
    assert not higher, f"importing the inference path loaded {higher}"


@pytest.mark.parametrize("subpackage", sorted(p.name for p in PACKAGE.iterdir()
                                              if (p / "__init__.py").is_file()))
def test_each_subpackage_has_its_test_folder(subpackage):
    folder = REPO / "tests" / subpackage
    assert folder.is_dir() and any(folder.glob("test_*.py")), f"tests/{subpackage}/ should test mam_lib/{subpackage}/"


if __name__ == "__main__":  # pragma: no cover
    graph = import_graph(PACKAGE)
    edges = sum(len(t) for t in graph.values())
    print(f"{len(graph)} modules, {edges} imports between them")
    between: dict[tuple[str, str], int] = {}
    for source, targets in graph.items():
        for target in targets:
            key = (layer_of(source) or "mam_lib", layer_of(target) or "mam_lib")
            if key[0] != key[1]:
                between[key] = between.get(key, 0) + 1
    for (src, dst), n in sorted(between.items(), key=lambda kv: (-LAYERS.get(kv[0][0], 7), kv[0][0], -LAYERS.get(kv[0][1], 7))):
        print(f"  {src:>10} -> {dst:<10} {n:3d}")
    found = cycles(graph)
    print("cycles:", "none" if not found else found)
    bad = layer_violations(graph)
    print("imports against the layer order:", "none" if not bad else "\n  " + "\n  ".join(bad))
