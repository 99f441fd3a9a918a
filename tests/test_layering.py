"""hwsim's layering (docs: ../shared/DESIGN.md, "Layering"; docs/architecture.md, "The map"): sub-packages are the
layers, each importing only those before it; no import circles among hwsim's modules and no ``_private`` name imported
from another module.

The truth is the source itself, read with :mod:`ast` (nothing is imported): every ``import`` of an hwsim module, at
module level or inside a function (a lazy import that only dodges a circle is still a circle), except those under
``if TYPE_CHECKING:``, which never run. Modules are the files of the ``hwsim`` package and of the folders
pyproject.toml maps into it (``hwsim.rtl``, ``hwsim.workloads``, ``hwsim.accelerators``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"hwsim": ROOT / "hwsim", "hwsim.rtl": ROOT / "rtl", "hwsim.workloads": ROOT / "workloads",
            "hwsim.accelerators": ROOT / "accelerators"}  # fmt: skip

# Known violations, each to be removed by the change that fixes it; nothing may be added here.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = {
    # (importing module, imported module, name)
    # (the cost engines' own, cycle importing analytical's _digit_strides and _first_touches, are gone)
    # rtl/ and workloads/, outside the layering change (make the names public, or move them where both use them)
    ("hwsim.rtl.verilator", "hwsim.rtl.sim", "_pad"),
    ("hwsim.workloads.oadtr", "hwsim.workloads.transformers", "_encoder_layer"),
}
# The layers, lowest first: a module may import its own layer and those before it, never one after it.
LAYERS = ["hwsim.core", "hwsim.frontend", "hwsim.cost", "hwsim.mapper", "hwsim.evaluate", "hwsim.explore", "hwsim.plots", "hwsim.cli"]
# The folders pyproject maps into the package sit beside the layers: presets build core objects, the RTL imports the cost
# layer (its cycle model) and the command line reaches the RTL's, so each gets its place in the order.
PLACE = {"hwsim.workloads": "hwsim.frontend", "hwsim.accelerators": "hwsim.frontend", "hwsim.rtl": "hwsim.explore",
         "hwsim.rtl.cli": "hwsim.cli"}  # fmt: skip
ALLOWED_CYCLES: set[frozenset[str]] = {  # sets of modules that import each other round a circle
    # rtl/: sim.run_gemm picks the Verilator backend (a lazy import) and verilator takes sim's DRAM model and packing
    # (another lazy import); moving DramModel/pack_beats/_pad below both breaks it
    frozenset({"hwsim.rtl.sim", "hwsim.rtl.verilator"}),
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            out[name.removesuffix(".__init__")] = path
    return out


def _runtime_nodes(tree: ast.AST) -> list[ast.stmt]:
    """Every import statement that runs: those under ``if TYPE_CHECKING:`` are left out."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> tuple[nx.DiGraph, list[tuple[str, str, str]]]:
    """hwsim's module graph (an edge: the first imports the second) and every (module, module, name) import of a
    ``_private`` name from another module."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    private = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [(f"{base}.{a.name}", None) if f"{base}.{a.name}" in modules else (base, a.name) for a in node.names]
            for target, imported in targets:
                while target not in modules and "." in target:  # `import hwsim.x.y` names hwsim.x.y, a module
                    target = target.rpartition(".")[0]
                if target not in modules or target == name:
                    continue
                graph.add_edge(name, target)
                if imported is not None and imported.startswith("_") and not imported.startswith("__"):
                    private.append((name, target, imported))
    return graph, private


def test_no_import_circles() -> None:
    graph, _ = import_graph()
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1 and frozenset(c) not in ALLOWED_CYCLES]
    assert not circles, f"modules that import each other (round a circle): {circles}"


def test_no_private_name_imported_from_another_module() -> None:
    _, private = import_graph()
    assert sorted(set(private) - ALLOWED_PRIVATE) == []


def test_the_allow_lists_hold_only_what_still_exists() -> None:
    """An allow-list entry whose violation is gone is removed, so the lists only shrink."""
    graph, private = import_graph()
    assert ALLOWED_PRIVATE <= set(private)
    circles = {frozenset(c) for c in nx.strongly_connected_components(graph) if len(c) > 1}
    assert ALLOWED_CYCLES <= circles


def test_the_graph_sees_lazy_imports() -> None:
    """Independent truth: hwsim/__init__.py's evaluate() imports hwsim.frontend.presets inside the function."""
    graph, _ = import_graph()
    assert graph.has_edge("hwsim", "hwsim.frontend.presets") and graph.has_edge("hwsim.plots", "hwsim.explore.pareto")


def layer_of(module: str) -> int | None:
    """The index in LAYERS of a module's layer (None for the package's own ``hwsim`` and ``hwsim.__main__``, the top)."""
    for prefix in sorted(PLACE, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS.index(PLACE[prefix])
    for k, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return k
    return None


def test_every_module_has_a_layer() -> None:
    graph, _ = import_graph()
    assert sorted(m for m in graph.nodes if layer_of(m) is None) == ["hwsim", "hwsim.__main__"]


def test_layers_import_only_downwards() -> None:
    graph, _ = import_graph()
    upward = [(a, b) for a, b in graph.edges if (la := layer_of(a)) is not None and (lb := layer_of(b)) is not None and lb > la]
    assert upward == [], f"imports of a later layer: {upward}"


def test_the_layer_rule_sees_an_upward_import() -> None:
    """Independent truth: an import the rule must refuse (the cost layer reaching the mapper) is seen as upward."""
    la, lb = layer_of("hwsim.cost.kernel"), layer_of("hwsim.mapper.fastmodel")
    assert la is not None and lb is not None and lb > la
