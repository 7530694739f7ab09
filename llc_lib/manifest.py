"""What each notebook really depends on, for Make: the library modules it imports (transitively) and the
checkpoints of the specs it fits. ``python -m llc_lib manifest --profile P`` prints it as Make rules, so a
plot change re-runs only the notebooks that import that module, and a changed recipe re-trains only the
checkpoints whose spec (and key) changed."""

from __future__ import annotations

import ast
import importlib
import json
import shlex
from pathlib import Path

from .config.folders import figures_dir
from .config.profiles import Profile
from .core.paths import REPO_ROOT
from .graph.spec import Spec
from .graph.workspace import Workspace

# every notebook, in the order `make reproduce` runs them (the Makefile's target ``notebooks``, from ``make_rules``)
NOTEBOOKS = (
    "01_train_models",
    "02_accuracy_vs_bits",
    "03_code_heatmaps",
    "04_taxonomy",
    "05_linear_vs_hamming",
    "06_retrieval",
    "07_ood",
    "08_your_own_images",
    "99_paper_vs_reproduction",
)
# notebook -> notebooks whose JSON it reads
READS = {"99_paper_vs_reproduction": NOTEBOOKS[:-1]}
# notebooks that read the seed study (seeds.json beside the figures): error bars, verdicts over seeds
READS_SEEDS = ("02_accuracy_vs_bits", "99_paper_vs_reproduction")


def notebook_code(name: str) -> str:
    """The code cells of notebook ``name``, IPython magics and shell lines left out."""
    nb = json.loads((REPO_ROOT / "notebooks" / f"{name}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))


def _resolve(dotted: str):
    """The llc_lib module or attribute named ``dotted`` (None when there is none)."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        module, _, attr = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr, None)
        except ImportError:
            return None


def notebook_studies(name: str) -> list:
    """The study functions notebook ``name`` calls: the llc_lib functions it calls (by an imported name or as
    ``module.function``) that declare their models with ``studies.fits``."""
    tree = ast.parse(notebook_code(name))
    names = {}  # name in the notebook -> dotted llc_lib path
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("llc_lib"):
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            names.update({a.asname or a.name: a.name for a in node.names if a.name.startswith("llc_lib")})
    found = []
    for node in ast.walk(tree):
        f = node.func if isinstance(node, ast.Call) else None
        if isinstance(f, ast.Name) and f.id in names:
            obj = _resolve(names[f.id])
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in names:
            obj = _resolve(f"{names[f.value.id]}.{f.attr}")
        else:
            continue
        if hasattr(obj, "specs") and obj not in found:
            found.append(obj)
    return found


def notebook_specs(p: Profile, seed: int = 0) -> dict[str, list[Spec]]:
    """{notebook: the specs it fits}, from the declarations of the studies it calls (``studies.fits``), at
    their default parameters."""
    out = {}
    for nb in NOTEBOOKS:
        specs = [s for study in notebook_studies(nb) for s in study.specs(p, seed)]
        out[nb] = list(dict.fromkeys(specs))
    return out


def _imports(source: str, package: str) -> set[str]:
    """llc_lib module names imported by Python ``source`` that lives in ``package`` (for relative imports),
    as dotted names; ``from x import y`` also yields x.y, which may be a module."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("llc_lib")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base.startswith("llc_lib"):
                out |= {base} | {f"{base}.{a.name}" for a in node.names}
    return out


def _file(mod: str) -> Path | None:
    p = REPO_ROOT.joinpath(*mod.split("."))
    for cand in (p.with_suffix(".py"), p / "__init__.py"):
        if cand.exists():
            return cand
    return None


def module_closure(mods: set[str]) -> list[Path]:
    """The files of ``mods`` and of every llc_lib module they import, transitively (parent packages too)."""
    seen: dict[str, Path] = {}
    todo = list(mods)
    while todo:
        mod = todo.pop()
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            name = ".".join(parts[:i])
            f = _file(name)
            if f is None or name in seen:
                continue
            seen[name] = f
            package = name if f.name == "__init__.py" else name.rpartition(".")[0]
            todo.extend(_imports(f.read_text(), package))
    return sorted(set(seen.values()))


def notebook_modules(name: str) -> list[Path]:
    """Library files notebook ``name`` depends on: what its code cells import, transitively."""
    return module_closure(_imports(notebook_code(name), "llc_lib"))


def make_name(path) -> str:
    """``path`` as a target or prerequisite of a Make rule: spaces escaped (``a\\ b``), ``$`` doubled."""
    return str(path).replace("$", "$$").replace(" ", "\\ ")


def _rel(f) -> str:
    """``f`` relative to the repository when it lies inside it (Make runs there), else as it is."""
    path = Path(f).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(f)


def make_rules(p: Profile, ws: Workspace, run: str, python: str) -> str:
    """Make rules: ``notebooks: $(RUN)/<nb>.ipynb ...`` (every notebook of ``NOTEBOOKS``, in that order), per
    notebook ``$(RUN)/<nb>.ipynb: <modules> <checkpoints> <notebooks it reads> [the seed study it reads, when
    there is one]``, ``$(RUN)/manifest.mk: <the seed study>`` (a forced remake once it appears, while there is
    none), and one rule per checkpoint (its ancestors' included) that fits its spec through the CLI once the
    checkpoints it starts from exist, so that ``make -j`` fits independent models concurrently and never one
    twice. Every file name goes through ``make_name`` and ``python`` is quoted, so paths may contain spaces."""

    def rule(target, deps) -> str:
        return " ".join([make_name(target) + ":"] + [make_name(d) for d in dict.fromkeys(deps)])

    fit = shlex.quote(python).replace("$", "$$")
    lines = [
        "# generated by `python -m llc_lib manifest`; do not edit",
        rule("notebooks", [f"{run}/{nb}.ipynb" for nb in NOTEBOOKS]),
    ]
    ckpts: dict[str, Spec] = {}
    seeds = figures_dir(p, ws.root) / "seeds.json"
    has_seeds = seeds.exists() or seeds.is_symlink()  # a dangling link counts: Make sees it
    for nb, specs in notebook_specs(p).items():
        files = [_rel(ws.ckpt_path(s)) for s in specs]
        ckpts.update({_rel(ws.ckpt_path(s)): s for s in specs})
        deps = [f"notebooks/{nb}.ipynb"] + [_rel(f) for f in notebook_modules(nb)] + files
        deps += [f"{run}/{r}.ipynb" for r in READS.get(nb, ())]
        if nb in READS_SEEDS and has_seeds:
            deps.append(_rel(seeds))
        lines.append(rule(f"{run}/{nb}.ipynb", deps))
    # this manifest is made again (Make re-reads an included file whose prerequisites changed) when the seed
    # study changes, or appears after the manifest was made without it ($(wildcard) is only tested for
    # emptiness: it returns a path with spaces unescaped)
    manifest = make_name(f"{run}/manifest.mk")
    if has_seeds:  # an empty rule: a seed study moved away remakes, not stops, Make
        lines += [rule(f"{run}/manifest.mk", [_rel(seeds)]), rule(_rel(seeds), [])]
    else:
        lines += [
            f"ifneq ($(wildcard {make_name(_rel(seeds))}),)",
            f"{manifest}: seed-study-appeared",
            ".PHONY: seed-study-appeared",
            "seed-study-appeared:",
            "endif",
        ]
    for s in list(ckpts.values()):
        for a in s.ancestors():
            ckpts.setdefault(_rel(ws.ckpt_path(a)), a)
    for f, s in ckpts.items():
        deps = [s.parent, None if s.codebook is None else s.codebook.source]
        lines += [
            rule(f, [_rel(ws.ckpt_path(d)) for d in deps if d is not None]),
            f"\t{fit} -m llc_lib fit --profile {p.name} --key {s.key}",
        ]
    return "\n".join(lines) + "\n"
