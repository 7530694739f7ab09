"""The notebooks' one-line set-up: ``ctx = setup(profile, seed, overrides, train, notebook, **params)``.

Opened by hand (or run headless with its default parameters), a notebook never trains a cpu or gpu model
unless its ``train`` parameter says so: it evaluates the models' checkpoints and writes to a scratch folder
(``view_dir``). On the cpu profile missing checkpoints are installed first from the committed weights
(``weights/cpu``, verified), and a notebook that reads other notebooks' results reads the committed ones where
those were not run by hand; where there are no committed weights (the gpu profile) it shows the committed
figures and numbers of that notebook and stops. ``make reproduce`` runs the notebooks
with ``train=True``; the smoke profile (a minute of training, results under runs/) always runs.

Only the notebook as committed publishes: ``make reproduce`` passes ``profile`` and ``train`` and leaves every
other parameter at its value in the notebook's ``parameters`` cell. A seed or a notebook parameter that differs
from that value is an override like ``overrides``: it is recorded in the run record and sends the results to
the variant folder (``config.folders.figures_dir``), never to the published figures.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

from .config.folders import figures_dir, runs_root
from .config.overrides import apply_sets
from .config.profiles import get_profile
from .core.paths import REPO_ROOT, NotACheckout, committed_weights
from .engine.device import pick_device
from .graph.workspace import Workspace
from .manifest import READS, notebook_code, notebook_specs
from .studies import Context, check_seed


class CommittedResultsShown(Exception):
    """Raised after showing the committed results, to stop "Run all" before the study cells; IPython prints
    only its message (``_render_traceback_``)."""

    def _render_traceback_(self):
        return [str(self)]


STANDARD = ("profile", "seed", "overrides", "train")  # the parameters every notebook has


def notebook_parameters(notebook: str) -> dict:
    """{name: value} assigned in the ``parameters`` cell of ``notebooks/<notebook>.ipynb`` as committed: the
    values ``make reproduce`` runs with (it passes only ``profile`` and ``train``). ValueError for an unknown
    notebook or a parameters cell that is not plain literal assignments."""
    path = REPO_ROOT / "notebooks" / f"{notebook}.ipynb"
    if not path.exists():
        raise ValueError(f"no notebook {notebook!r} in {path.parent}")
    cells = [
        c
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", ())
    ]
    if len(cells) != 1:
        raise ValueError(f"{path} must have one code cell tagged 'parameters', has {len(cells)}")
    out = {}
    for node in ast.parse("".join(cells[0]["source"])).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"the parameters cell of {path} may hold only assignments of literals")
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def parameter_overrides(notebook: str, seed, params: dict) -> tuple[str, ...]:
    """The notebook's parameters that differ from the committed ``parameters`` cell, as override strings
    (``seed=1``, ``03_code_heatmaps.bits=7``; values in JSON, so a tuple equals the list it spells). ValueError
    when ``params`` are not exactly the notebook's own parameters besides ``STANDARD``."""
    committed = notebook_parameters(notebook)
    own = {k: v for k, v in committed.items() if k not in STANDARD}
    if set(params) != set(own):
        raise ValueError(f"setup of {notebook} takes its parameters {sorted(own)} as keywords, got {sorted(params)}")

    def text(v):
        return json.dumps(v, sort_keys=True, default=repr)

    made = [f"seed={seed}"] if text(seed) != text(committed.get("seed", 0)) else []
    return tuple(made + [f"{notebook}.{k}={text(v)}" for k, v in sorted(params.items()) if text(v) != text(own[k])])


def view_dir(profile) -> Path:
    """Where a notebook opened without ``train`` writes what it evaluates: runs/<profile>/view (never the
    committed figures)."""
    return runs_root(profile) / "view"


def notebook_outputs(notebook: str) -> dict[str, list[str]]:
    """{'figures': PNG stems, 'json': JSON stems} that ``notebook`` writes, read off its code
    (``plots.save(fig, "<stem>", ...)`` and ``ctx.save_json(..., "<stem>")``)."""
    out = {"figures": [], "json": []}
    for node in ast.walk(ast.parse(notebook_code(notebook))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.attr == "save" and strings:
                out["figures"].append(strings[0])
            elif node.func.attr == "save_json" and strings:
                out["json"].append(strings[-1])
    return out


def show_committed(profile, notebook: str) -> list:
    """Display the committed figures of ``notebook`` (its PNGs in the profile's figure folder), the
    summary and verdict of its JSON, and, for the report notebook, the committed report; returns the files."""
    from IPython.display import Image, Markdown, display

    folder, shown, outputs = figures_dir(profile), [], notebook_outputs(notebook)
    for stem in outputs["json"]:
        path = folder / f"{stem}.json"
        if path.exists():
            res = json.loads(path.read_text())
            lines = [f"**{k}**: {res[k]}" for k in ("summary", "holds", "paper") if k in res]
            display(Markdown(f"`{path}`" + ("\n\n" + "\n\n".join(lines) if lines else "")))
            shown.append(path)
    report = folder / "paper_vs_reproduction.md"
    if notebook.startswith("99") and report.exists():
        display(Markdown(report.read_text()))
        shown.append(report)
    for stem in outputs["figures"]:
        path = folder / f"{stem}.png"
        if path.exists():
            display(Markdown(f"`{path}`"), Image(filename=str(path)))
            shown.append(path)
    return shown


def _missing(ws: Workspace, specs) -> list[str]:
    """The checkpoint file names of ``specs`` and their ancestors that ``ws`` lacks."""
    return [ws.ckpt_path(s).name for top in specs for s in top.ancestors() + [top] if not ws.ckpt_path(s).exists()]


def _committed_weights(prof) -> Path | None:
    """The committed weights folder of ``prof`` (``core.paths.committed_weights``), None without one."""
    try:
        folder = committed_weights(prof.name)
    except NotACheckout:
        return None
    return folder if (folder / "MANIFEST.json").is_file() else None


def setup(
    profile: str = "auto",
    seed: int = 0,
    overrides=(),
    train: bool = False,
    notebook: str | None = None,
    device: str | None = None,
    **params,
) -> Context:
    """Validate a notebook's parameters (one clear ValueError for a bad one) and return its ``Context``.

    profile: smoke, cpu, gpu or auto; seed: a non-negative int; overrides: ``--set``-style strings such as
    ``["llc.lr=0.05"]`` (``config.apply_sets``), which train under new checkpoint keys and write to a variant
    folder (``config.folders.figures_dir``), never to the published figures. train: fit missing models and publish
    into the profile's figure folder (what ``make reproduce`` does); False on the cpu and gpu profiles =
    evaluate existing checkpoints into ``view_dir``, or, when ``notebook``'s models are not all trained, show
    its committed results and stop (``CommittedResultsShown``). params: the notebook's other parameters, each
    by its name; with ``seed``, any that differs from the committed ``parameters`` cell is an override
    (``parameter_overrides``). Without ``notebook``, no params are taken."""
    check_seed(seed)
    prof = apply_sets(get_profile(profile), overrides)
    if notebook is not None:
        made = parameter_overrides(notebook, seed, params)
        prof = dataclasses.replace(prof, overrides=prof.overrides + made)
    elif params or seed != 0:
        raise ValueError("a seed or notebook parameters need the notebook's name (setup(..., notebook=...))")
    if prof.dataset != "cifar100":
        raise ValueError(
            f"profile {prof.name!r} trains on ImageFolder data through the command line "
            f"(python -m llc_lib train --profile {prof.name}); notebooks take smoke, cpu or gpu"
        )
    specs = notebook_specs(prof, seed)  # every model the profile trains is a valid spec, before anything trains
    if not isinstance(train, bool):
        raise ValueError(f"train must be True or False, got {train!r}")
    viewing = not train and prof.name != "smoke"
    ws = Workspace(runs_root(prof), pick_device(device), train=not viewing, workers=prof.workers)
    if viewing:
        if notebook is None or notebook not in specs:
            raise ValueError(f"name the notebook (setup(..., notebook=...)), one of {sorted(specs)}")
        missing = _missing(ws, specs[notebook])
        committed_folder = None if prof.overrides else _committed_weights(prof)
        if missing and committed_folder is not None:
            from .graph.weights import install

            copied = install(committed_folder, runs_root(prof))
            print(
                f"installed {len(copied)} committed checkpoint files ({committed_folder}, verified) into "
                f"{runs_root(prof)}: evaluating them, nothing is trained"
            )
            missing = _missing(ws, specs[notebook])
        unread = [n for n in READS.get(notebook, ()) if not (view_dir(prof) / f"{n}.json").exists()]
        committed = figures_dir(prof)
        if unread and not missing and all((committed / f"{n}.json").exists() for n in unread):
            view_dir(prof).mkdir(parents=True, exist_ok=True)
            for n in unread:  # the committed results of the notebooks it reads, where they were not run here
                (view_dir(prof) / f"{n}.json").write_bytes((committed / f"{n}.json").read_bytes())
            print(f"read the committed results of {', '.join(unread)} ({committed}): they were not run by hand here")
            unread = []
        if missing or unread:
            shown = show_committed(prof, notebook)
            why = (
                f"{len(missing)} of its models are not trained here (e.g. {missing[0]})"
                if missing
                else f"the notebooks it reads have not been run by hand here (e.g. {unread[0]})"
            )
            what = f"the committed results of {notebook}" if shown else "nothing: there are no committed results"
            raise CommittedResultsShown(
                f"Shown: {what}"
                f" ({prof.name} profile, {len(shown)} files) — {why}. To evaluate instead: `python -m llc_lib "
                f"weights` (the committed cpu weights) and run the notebooks, or set train = True in the "
                f"parameters cell (trains what is missing; minutes to hours)."
            )
        figdir = view_dir(prof)
    else:
        figdir = figures_dir(prof)
    ctx = Context(prof, ws, figdir)
    ctx.figdir.mkdir(parents=True, exist_ok=True)
    print(
        f"profile={prof.name} seed={seed} device={ctx.ws.device} figures -> {ctx.figdir}"
        + (
            " (from the trained checkpoints, nothing is trained; the committed figures are not touched)"
            if viewing
            else ""
        )
        + (
            f" (a variant: overrides {list(prof.overrides)}; the published figures are not touched)"
            if prof.overrides
            else ""
        )
    )
    return ctx
