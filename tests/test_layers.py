"""The layers of zoo/ import only downwards (docs/ARCHITECTURE.md draws them), and the bottom layer and the CLI
entry point stay free of TensorFlow so that command lines parse and fail fast."""

import ast

import pytest

from tests.conftest import ROOT, run_python

# The model server's modules: they serve what the artifacts hold and read no data (zoo.latent computed the page's
# latent directions at export).
SERVING = ["zoo.http_guards", "zoo.request_batching", "zoo.servables", "zoo.server", "zoo.wire_format"]
DATA_READERS = ["zoo.data", "zoo.movielens", "zoo.sources"]
# Bottom to top. A module may import modules of its own layer or below, never above; "zoo.models.*" is every
# module of the models package. docs/ARCHITECTURE.md describes each module.
LAYERS = [
    ("flags, errors and files (no TensorFlow)", ["zoo.cluster", "zoo.config", "zoo.data_spec", "zoo.errors", "zoo.files", "zoo.flags", "zoo.registry",
                                                 "zoo.request_parsing", "zoo.search_space"]),
    ("data and building blocks", ["zoo.batching", "zoo.corruptions", "zoo.data", "zoo.losses", "zoo.movielens",
                                  "zoo.nets", "zoo.signatures", "zoo.sources", "zoo.speed"]),
    ("models", ["zoo", "zoo.models", "zoo.models.*"]),
    ("measures", ["zoo.anomaly", "zoo.latent", "zoo.metrics", "zoo.plots", "zoo.restore"]),
    ("training core", ["zoo.distribute", "zoo.training"]),
    ("publishing and applications", ["zoo.export", "zoo.pipeline", "zoo.pretraining", "zoo.recommenders"]),
    ("serving", SERVING),
    ("entry points", ["zoo.cli", "zoo.refresh", "zoo.serve"]),
]
TENSORFLOW_FREE = ["zoo", "zoo.cli", "zoo.cluster", "zoo.config", "zoo.data_spec", "zoo.errors", "zoo.files", "zoo.flags", "zoo.refresh", "zoo.registry",
                   "zoo.request_parsing", "zoo.serve", "zoo.search_space"]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((ROOT / "zoo").rglob("*.py"))}


def layer_of(module):
    for index, (_, members) in enumerate(LAYERS):
        if module in members or any(m.endswith(".*") and module.startswith(m[:-1]) for m in members):
            return index
    return None


def imported_modules(path):
    """(line, module) of every import of a zoo module in the file, at module level or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from zoo import data` imports the module zoo.data; `from zoo.data import mnist` the module zoo.data.
            found += [(node.lineno, f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES
                       else node.module) for alias in node.names]
    return [(line, module) for line, module in found if module.split(".")[0] in ("zoo", "recipes", "tuning", "benchmarks")]


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


def upward_imports(module, path):
    """Lines of `path` (the source of `module`) that import a module of a higher layer, or outside zoo."""
    here, upward = layer_of(module), []
    for line, imported in imported_modules(path):
        there = layer_of(imported)
        if there is None or there > here:
            label = "outside zoo" if there is None else f"layer {there + 1} ({LAYERS[there][0]})"
            upward.append(f"{path.name}:{line} imports {imported}, {label}")
    return upward


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_downwards(module):
    here = layer_of(module)
    assert upward_imports(module, MODULES[module]) == [], f"{module} is in layer {here + 1} ({LAYERS[here][0]})"


def test_the_serving_layer_reads_no_data():
    code = (f"import importlib, sys\nfor name in {SERVING!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m in {DATA_READERS!r}))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_no_import_cycle():
    graph = {module: {imported for _, imported in imported_modules(path) if imported in MODULES and imported != module}
             for module, path in MODULES.items()}
    state = {}

    def visit(module, stack):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(imported):] + [imported]))
            if imported not in state:
                visit(imported, stack + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_flag_layer_and_the_cli_do_not_import_tensorflow():
    code = (f"import importlib, sys\nfor name in {TENSORFLOW_FREE!r}:\n    importlib.import_module(name)\n"
            "import recipes.vae_mnist, recipes.anomaly_mnist, tuning.search\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tensorflow_probability')))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_an_upward_import_is_reported_even_inside_a_function(tmp_path):
    source = tmp_path / "data.py"
    source.write_text("import numpy\nfrom zoo import files\n\ndef late():\n    from zoo import pipeline\n"
                      "    from recipes.vae_mnist import VAEMnistConfig\n")
    assert upward_imports("zoo.data", source) == [
        "data.py:5 imports zoo.pipeline, layer 6 (publishing and applications)",
        "data.py:6 imports recipes.vae_mnist, outside zoo"]


def test_the_architecture_document_names_every_module():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    missing = [m for m in MODULES if m not in ("zoo", "zoo.models") and f"{MODULES[m].relative_to(ROOT)}" not in text
               and f"{MODULES[m].name}" not in text]
    assert missing == [], f"docs/ARCHITECTURE.md does not describe {missing}"
