"""What each notebook really depends on, for Make: the library modules it imports (transitively) and the
checkpoints of the specs it fits. ``python -m llc_lib manifest --profile P`` prints it as Make rules, so a
plot change re-runs only the notebooks that import that module, and a changed recipe re-trains only the
checkpoints whose spec (and key) changed."""
from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

from . import plan
from .config import Profile
from .data import REPO_ROOT
from .graph import Spec, Workspace

LIB = REPO_ROOT / "llc_lib"
NOTEBOOKS = ("01_train_models", "02_accuracy_vs_bits", "03_code_heatmaps", "04_taxonomy", "05_linear_vs_hamming",
             "06_retrieval", "07_ood", "99_paper_vs_reproduction")
# notebook -> notebooks whose JSON it reads
READS = {"99_paper_vs_reproduction": NOTEBOOKS[:-1]}


def notebook_specs(p: Profile, seed: int = 0) -> dict[str, list[Spec]]:
    """{notebook: the specs it fits} (default parameters; notebook 01 also fits every profile seed)."""
    head = list(plan.headline(p, seed))
    baselines = [plan.baseline_instance(p, m, seed) for m in ("random", "svd", "cca", "llc")]
    ablations = [plan.llc(p, seed, bits=p.table_bits, init=i, epochs=p.warm_epochs) for i in ("svd", "cca")]
    ablations.append(plan.llc(p, seed, bits=20, nested=()))
    fast = plan.fast_codebook(p, seed)
    seeds = [s for extra in p.seeds if extra != seed for s in plan.headline(p, extra)] if len(p.seeds) > 1 else []
    kdim = [plan.real_bottleneck(p, seed)]
    return {"01_train_models": head + baselines + ablations + [fast] + seeds,
            "02_accuracy_vs_bits": head + baselines + ablations + kdim,
            "03_code_heatmaps": head[:2], "04_taxonomy": head[:2], "05_linear_vs_hamming": head[1:] + [fast],
            "06_retrieval": [head[0], head[2]] + [plan.hashing(p, m, seed) for m in ("hashnet", "csq")]
            + kdim,
            "07_ood": list(plan.ood(p, seed)), "99_paper_vs_reproduction": []}


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
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
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
    nb = json.loads((REPO_ROOT / "notebooks" / f"{name}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    return module_closure(_imports(code, "llc_lib"))


def make_name(path) -> str:
    """``path`` as a target or prerequisite of a Make rule: spaces escaped (``a\\ b``), ``$`` doubled."""
    return str(path).replace("$", "$$").replace(" ", "\\ ")


def _rel(f) -> str:
    """``f`` relative to the repository when it lies inside it (Make runs there), else as it is."""
    path = Path(f).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(f)


def make_rules(p: Profile, ws: Workspace, run: str, python: str) -> str:
    """Make rules: per notebook ``$(RUN)/<nb>.ipynb: <modules> <checkpoints> <notebooks it reads>`` and one
    rule per checkpoint (its ancestors' included) that fits its spec through the CLI once the checkpoints it
    starts from exist, so that ``make -j`` fits independent models concurrently and never one twice. Every
    file name goes through ``make_name`` and ``python`` is quoted, so paths may contain spaces."""
    def rule(target, deps) -> str:
        return " ".join([make_name(target) + ":"] + [make_name(d) for d in dict.fromkeys(deps)])

    fit = shlex.quote(python).replace("$", "$$")
    lines = ["# generated by `python -m llc_lib manifest`; do not edit"]
    ckpts: dict[str, Spec] = {}
    for nb, specs in notebook_specs(p).items():
        files = [_rel(ws.ckpt_path(s)) for s in specs]
        ckpts.update({_rel(ws.ckpt_path(s)): s for s in specs})
        deps = [f"notebooks/{nb}.ipynb"] + [_rel(f) for f in notebook_modules(nb)] + files
        deps += [f"{run}/{r}.ipynb" for r in READS.get(nb, ())]
        lines.append(rule(f"{run}/{nb}.ipynb", deps))
    for s in list(ckpts.values()):
        for a in s.ancestors():
            ckpts.setdefault(_rel(ws.ckpt_path(a)), a)
    for f, s in ckpts.items():
        deps = [s.parent, None if s.codebook is None else s.codebook.source]
        lines += [rule(f, [_rel(ws.ckpt_path(d)) for d in deps if d is not None]),
                  f"\t{fit} -m llc_lib fit --profile {p.name} --key {s.key}"]
    return "\n".join(lines) + "\n"
