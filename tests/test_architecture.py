"""The package's layering, read from the source (docs/architecture.md).

The import graph is built with ``ast`` from every module of the installed
package (``kernels/`` as ``fastfreq.kernels``, ``models/`` as
``fastfreq.models``), imports inside functions included, and checked for
cycles, imports of a higher layer and private names taken across subpackages.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = {"fastfreq": ROOT / "fastfreq", "fastfreq.kernels": ROOT / "kernels", "fastfreq.models": ROOT / "models"}
# Lower layers never import higher ones; equal layers may import each other (without cycles).
LAYERS = [
    ("kernels", ("fastfreq.kernels", "fastfreq._validate", "fastfreq._files")),
    ("backends", ("fastfreq.backends",)),
    ("components", ("fastfreq.filters", "fastfreq.analysis", "fastfreq.metrics", "fastfreq.augment",
                    "fastfreq.wavelets", "fastfreq.data", "fastfreq.distributed")),
    ("public face", ("fastfreq", "fastfreq.gpu")),
    ("models", ("fastfreq.models",)),
    ("apps", ("fastfreq.apps", "fastfreq.__main__", "fastfreq.integrations")),
]
SHARED_PRIVATE = {"fastfreq._validate", "fastfreq._files"}  # the package's own helpers, for every layer


def module_files() -> dict:
    """module name -> (path, is_package)."""
    modules = {}
    for prefix, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(folder).with_suffix("").parts
            is_pkg = rel[-1] == "__init__"
            name = ".".join((prefix,) + (rel[:-1] if is_pkg else rel))
            modules[name] = (path, is_pkg)
    return modules


def imports_of(name: str, path: pathlib.Path, is_pkg: bool, known: set) -> list:
    """(target module, imported name or None, line) for every import of a fastfreq module in the file."""
    package = name if is_pkg else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "fastfreq"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "fastfreq":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in known:  # "from pkg import submodule"
                    found.append((sub, None, node.lineno))
                else:
                    found.append((module, alias.name, node.lineno))
    return [(t, n, line) for t, n, line in found if t in known]


def layer(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            matches = module == p or (p != "fastfreq" and module.startswith(p + "."))
            if matches and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return rank


def unit(module: str) -> str:
    """The subpackage a module belongs to (a top-level module is its own unit)."""
    parts = module.split(".")
    if parts[1:2] == ["models"]:
        return ".".join(parts[:3])
    return ".".join(parts[:2])


@pytest.fixture(scope="module")
def graph():
    modules = module_files()
    known = set(modules)
    return {name: imports_of(name, path, is_pkg, known) for name, (path, is_pkg) in modules.items()}


def test_the_graph_covers_the_whole_package(graph):
    assert len(graph) >= 60
    assert {"fastfreq", "fastfreq.backends.dispatch", "fastfreq.kernels.cutpaste_numba",
            "fastfreq.models.wepadim.model", "fastfreq.apps.cli"} <= set(graph)
    # imports inside functions count: the dispatch imports its backends lazily
    targets = {t for t, _, _ in graph["fastfreq.backends.dispatch"]}
    assert {"fastfreq.backends.numba_cpu", "fastfreq.backends.gpu", "fastfreq.backends.reference"} <= targets


def test_no_import_cycles(graph):
    edges = {m: sorted({t for t, _, _ in imps if t != m}) for m, imps in graph.items()}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == "open":
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert cycles == []


def test_no_module_imports_a_higher_layer(graph):
    bad = [f"{m} (layer {LAYERS[layer(m)][0]}) imports {t} (layer {LAYERS[layer(t)][0]}) at line {line}"
           for m, imps in graph.items() for t, _, line in imps if layer(t) > layer(m)]
    assert bad == []


def test_no_private_name_crosses_a_subpackage(graph):
    bad = []
    for m, imps in graph.items():
        for t, name, line in imps:
            if unit(t) == unit(m):
                continue
            private_module = any(p.startswith("_") and p != "__init__" for p in t.split(".")[1:])
            private_name = (name or "").startswith("_") and not (name or "").endswith("__")  # __version__ is public
            if private_name or (private_module and t not in SHARED_PRIVATE):
                bad.append(f"{m}:{line} imports {t}{'.' + name if name else ''}")
    assert bad == []


def test_models_import_the_library_by_absolute_paths():
    bad = []
    for path in (ROOT / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 2:  # beyond models/ itself
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


LIGHT_IMPORT = """
import sys
{code}
heavy = sorted(m for m in sys.modules if m.startswith(("fastfreq.apps", "fastfreq.models", "sklearn", "matplotlib")))
print(heavy)
"""


@pytest.mark.parametrize("code", [
    "import fastfreq",
    "from fastfreq.apps.cli import build_parser; build_parser().format_help()",
], ids=["import", "help"])
def test_import_and_help_load_no_training_plotting_or_sklearn(code):
    out = subprocess.run([sys.executable, "-c", LIGHT_IMPORT.format(code=code)], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    allowed = {"fastfreq.apps", "fastfreq.apps.cli", "fastfreq.apps.cli.common", "fastfreq.apps.cli.data",
               "fastfreq.apps.cli.demo", "fastfreq.apps.cli.detectors", "fastfreq.apps.cli.draem",
               "fastfreq.apps.cli.eda", "fastfreq.apps.defaults"} if code.startswith("from") else set()
    assert set(eval(out)) <= allowed, out
