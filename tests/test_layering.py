"""The package's layers hold, and no module imports itself back (an AST scan of plmresearch/).

Layers (DESIGN.md), lowest first. A module may import modules of its own layer and of
lower layers, never of a higher one:

    0  errors, validation, results        shared base (and progress bars, the Dask plumbing)
    1  data                               datasets, reading user files, privacy tools
    2  effects, causal, models, mastery   the methods; simulate (replications on Dask, power)
    3  study, study_estimators, reproduce reproductions of published evaluations
    4  report, pilot                      outputs and the district pilot
    5  cli                                the `plm` command

The package root (plmresearch/__init__.py) is a facade: it sits on the highest layer it
imports. Every ``import``/``from ... import`` counts, at module level or inside a function
(a function-local import is still a dependency; it only hides a cycle until run time).
Imports under ``if TYPE_CHECKING:`` count for the layers but not for cycles.
A new top-level module or subpackage fails ``test_every_module_has_a_layer`` until it is
placed in ``LAYERS``; ``reproduce`` is placed before it exists.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "plmresearch"

LAYERS: dict[str, int] = {
    "errors": 0, "validation": 0, "results": 0, "_plotting": 0, "progress": 0, "_quadrature": 0, "_dask": 0,
    "data": 1,
    "effects": 2, "causal": 2, "models": 2, "mastery": 2, "simulate": 2,
    "study": 3, "study_estimators": 3, "reproduce": 3,
    "report": 4, "pilot": 4,
    "cli": 5,
}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module (the deepest module of the package that the statement names)
    path: str
    line: int
    type_checking: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


def _module_names(package_dir: Path) -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is_package)}`` for every .py file of the package."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _resolve(name: str, modules: dict) -> str:
    """The deepest existing module on the dotted path ``name``."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                inside.update(id(n) for n in ast.walk(stmt))
    return inside


def import_graph(package_dir: Path = PACKAGE_DIR) -> tuple[dict, list[Edge]]:
    """Every import between modules of the package, wherever it appears in the file."""
    root = package_dir.name
    modules = _module_names(package_dir)
    edges = []
    for name, (path, is_pkg) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        guarded = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name if is_pkg else name.rsplit(".", 1)[0]
                    for _ in range(node.level - 1):
                        base = base.rsplit(".", 1)[0]
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from pkg import sub` imports the submodule; `from pkg import name` the package.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                if t == root or t.startswith(root + "."):
                    target = _resolve(t, modules)
                    if target != name:
                        edges.append(Edge(name, target, str(path.relative_to(package_dir.parent)), node.lineno,
                                          id(node) in guarded))
    return modules, list(dict.fromkeys(edges))  # one edge per statement, however many names it imports


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(package_dir: Path = PACKAGE_DIR, layers: dict[str, int] = LAYERS) -> list[str]:
    _, edges = import_graph(package_dir)
    root = package_dir.name
    facade = max((layers.get(_top(e.target), 0) for e in edges if e.source == root and _top(e.target)), default=0)

    def layer(module: str) -> int:
        top = _top(module)
        return facade if top is None else layers[top]

    return [
        f"{e} (layer {layer(e.source)} '{_top(e.source) or root}' may not import layer {layer(e.target)} "
        f"'{_top(e.target) or root}')"
        for e in edges
        if e.source != root and layer(e.target) > layer(e.source)
    ]


def import_cycles(package_dir: Path = PACKAGE_DIR) -> list[list[Edge]]:
    """Strongly connected groups of modules (Tarjan), each as the import edges inside it."""
    modules, edges = import_graph(package_dir)
    graph: dict[str, list[str]] = {m: [] for m in modules}
    for e in edges:
        if not e.type_checking:
            graph[e.source].append(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0

    def visit(v: str) -> None:  # the recursion depth is bounded by the number of modules
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in graph:
        if v not in index:
            visit(v)
    return [[e for e in edges if not e.type_checking and e.source in g and e.target in g] for g in groups]


# --------------------------------------------------------------------------- the package


def test_every_module_has_a_layer():
    modules, _ = import_graph()
    tops = {_top(m) for m in modules} - {None}
    assert tops, "no modules found: is PACKAGE_DIR right?"
    assert sorted(tops - set(LAYERS)) == [], "place each new top-level module or subpackage in LAYERS"


def test_layer_order_matches_design():
    """Editing LAYERS must not quietly legalize a forbidden import."""
    assert LAYERS["data"] < min(LAYERS[m] for m in ("effects", "causal", "models", "mastery"))
    methods = max(LAYERS[m] for m in ("data", "effects", "causal", "models", "mastery", "errors", "validation",
                                      "results"))
    assert methods < min(LAYERS[m] for m in ("study", "study_estimators", "reproduce"))
    assert max(LAYERS[m] for m in ("study", "study_estimators", "reproduce")) < min(LAYERS["report"],
                                                                                   LAYERS["pilot"])
    assert max(LAYERS["report"], LAYERS["pilot"]) < LAYERS["cli"] == max(LAYERS.values())


def test_no_module_imports_a_higher_layer():
    violations = layer_violations()
    assert violations == [], "imports against the layers:\n" + "\n".join(violations)


def test_no_import_cycles():
    cycles = import_cycles()
    assert cycles == [], "import cycles:\n" + "\n\n".join("\n".join(map(str, c)) for c in cycles)


# --------------------------------------------------------------------------- the checker itself


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "plmresearch"
    for rel, text in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


@pytest.mark.parametrize(
    "files, expected",
    [
        # data importing the pilot, inside a function (the kind of import issue 12 removed)
        ({"data/__init__.py": "", "data/intake.py": "def f():\n    from plmresearch.pilot.config import C\n",
          "pilot/__init__.py": "", "pilot/config.py": "C = 1\n"},
         ["plmresearch/data/intake.py:2: plmresearch.data.intake imports plmresearch.pilot.config"]),
        # a method importing the future reproduce package, relative form
        ({"effects/__init__.py": "", "effects/meta.py": "from ..reproduce import spec\n",
          "reproduce/__init__.py": "", "reproduce/spec.py": ""},
         ["plmresearch/effects/meta.py:1: plmresearch.effects.meta imports plmresearch.reproduce.spec"]),
        # report only under TYPE_CHECKING still breaks the layers
        ({"models/__init__.py": "", "report/__init__.py": "",
          "models/fit.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import plmresearch.report\n"},
         ["plmresearch/models/fit.py:3: plmresearch.models.fit imports plmresearch.report"]),
        # the same layer, and down: allowed
        ({"causal/__init__.py": "", "causal/a.py": "from plmresearch.effects import g\nfrom plmresearch import errors\n",
          "effects/__init__.py": "g = 1\n", "errors.py": ""}, []),
    ],
)
def test_checker_finds_forbidden_imports(tmp_path, files, expected):
    pkg = _write(tmp_path, {"__init__.py": "", **files})
    found = layer_violations(pkg)
    assert [v.split(" (layer")[0] for v in found] == expected


def test_checker_finds_cycles_through_function_local_imports(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "",
        "effects/__init__.py": "",
        "effects/meta.py": "class R:\n    def plot(self):\n        from plmresearch.effects.plots import forest\n",
        "effects/plots.py": "from plmresearch.effects.meta import R\n",
        "effects/power.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import smd\n",
        "effects/smd.py": "from plmresearch.effects import power\n",
    })
    cycles = import_cycles(pkg)
    assert len(cycles) == 1  # meta <-> plots; power <-> smd only through TYPE_CHECKING
    assert sorted(map(str, cycles[0])) == [
        "plmresearch/effects/meta.py:3: plmresearch.effects.meta imports plmresearch.effects.plots",
        "plmresearch/effects/plots.py:1: plmresearch.effects.plots imports plmresearch.effects.meta",
    ]
