"""The package's layers, read from the code: every module imports only from its own layer and the layers its
layer may use (below it), and the torch-free layers import torch nowhere at module level. The torch-free commands
(``compare``, ``docs``) and every module of a torch-free layer run where torch cannot be imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "llc_lib"

# layer: the layers it may import from (its own always). Top-level modules (the CLI, notebook set-up, manifest, the
# public API and its commands, the package's __init__) may import any layer.
LAYERS = {
    "core": set(),
    "kernels": {"core"},
    "methods": {"core", "kernels"},
    "config": {"core", "methods"},
    "results": {"core", "kernels", "config"},
    "engine": {"core", "kernels", "methods", "config"},
    "graph": {"core", "kernels", "methods", "config", "engine"},
    "studies": {"core", "kernels", "methods", "config", "engine", "graph", "results"},
}
TORCH_FREE = {"core", "kernels", "config", "results"}
# function-level torch imports a torch-free layer may hold: name -> why
TORCH_WHEN_CALLED = {
    "config.profiles.resolve_profile": "profile 'auto' is gpu when CUDA is available, a question only torch answers",
}
TOP = {"__init__", "__main__", "notebook", "manifest", "api", "codes_cli", "train_codes"}


def _modules():
    """{dotted module inside llc_lib: path}."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path):
    """(imported llc_lib module or 'torch...', lineno, enclosing function or None) of every import in ``path``."""
    tree = ast.parse(path.read_text())
    pkg = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
    if name == "__init__":
        pkg = []
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            f = f"{name}.{child.name}" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, func) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = pkg[: len(pkg) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                    targets = [f"{mod}.{a.name}" if mod else a.name for a in child.names]
                    found.extend((f"llc_lib.{t}", child.lineno, func) for t in targets)
                else:
                    found.append((child.module or "", child.lineno, func))
            visit(child, f)

    visit(tree, None)
    return found


def _layer(dotted: str) -> str:
    head = dotted.split(".")[0]
    return "top" if head in TOP else head


def test_every_module_is_in_a_layer():
    unknown = [m for m in _modules() if _layer(m) not in LAYERS and _layer(m) != "top"]
    assert not unknown, f"modules outside every layer (add them to a layer folder or LAYERS): {unknown}"


def test_imports_point_down():
    bad = []
    for name, path in _modules().items():
        layer = _layer(name)
        if layer == "top":
            continue
        for target, line, _ in _imports(name, path):
            if not target.startswith("llc_lib."):
                continue
            other = _layer(target[len("llc_lib.") :])
            if other != layer and other not in LAYERS[layer]:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} ({layer}) imports {target} ({other})")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_torch_free_layers_import_no_torch():
    bad = []
    for name, path in _modules().items():
        if _layer(name) not in TORCH_FREE:
            continue
        for target, line, func in _imports(name, path):
            if target.split(".")[0] in ("torch", "torchvision") and func not in TORCH_WHEN_CALLED:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {target}")
    assert not bad, "torch in a torch-free layer:\n" + "\n".join(bad)


# as if torch and torchvision were not installed
BLOCK_TORCH = (
    "import sys\n"
    "class NoTorch:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('torch', 'torchvision'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
    "sys.meta_path.insert(0, NoTorch())\n"
)


def test_torch_free_modules_import_without_torch():
    names = [m for m in _modules() if _layer(m) in TORCH_FREE]
    code = BLOCK_TORCH + "import importlib\n[importlib.import_module('llc_lib.' + m) for m in %r]" % names
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PKG.parent)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.parametrize("command", [["compare", "--help"], ["docs", "--help"]])
def test_torch_free_commands_run_without_torch(command):
    code = (
        BLOCK_TORCH
        + "import runpy\nsys.argv = ['llc_lib'] + %r; runpy.run_module('llc_lib', run_name='__main__')" % (command,)
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PKG.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "usage" in r.stdout
