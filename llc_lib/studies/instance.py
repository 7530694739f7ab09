"""Why the instance codes are weak, and which recipe change fixes them: Phase 2 (and Phase 1) variants of one
profile, each scored at the headline code lengths on the test split (on the validation split instead when the
profile holds images out, ``--set holdout=50``: recipe choices are made there) and on training images (to see
memorisation: a code that is right on the training images and wrong on the test images), with Phase 2's
per-epoch training loss (to see whether it has flattened).

    python -m llc_lib variants --profile cpu [--variants NAME ...] [--out FILE] [--device cuda]

Every variant is a set of overrides of the profile in the grammar of ``--set`` (``config.overrides.apply_sets``), so
each one trains under
its own key and shares every model it does not change (Phase-2-only variants reuse the profile's Phase 1).
The overrides are relative (``instance.epochs=*2``), so a variant means another recipe once the profile's
recipe changes: each row records the profile's own Phase 1 and Phase 2 (``base``) and the recipes it trained,
and a results file takes no row of another base or other overrides (``check_results``).
"""

from __future__ import annotations

import dataclasses

from ..config.overrides import apply_sets
from ..graph import plan
from ..graph.selection import DataSel
from ..results import claims
from . import Context
from .evaluation import evaluate_llc

# name: (what it changes, overrides). Phase-2-only variants first: they share the profile's Phase 1.
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "profile": ("the profile's recipe", ()),
    "p2-half": ("Phase 2: half the epochs (is the profile's length needed?)", ("instance.epochs=*0.5",)),
    "p2-2x": ("Phase 2: twice the epochs (has it converged?)", ("instance.epochs=*2",)),
    "p2-2x-micro64": (
        "Phase 2: twice the epochs, in micro-batches of 64 (ghost-batch BatchNorm)",
        ("instance.epochs=*2", "instance.micro_batch=64"),
    ),
    "p2-4x-micro64": (
        "Phase 2: four times the epochs, in micro-batches of 64 (has twice the epochs converged?)",
        ("instance.epochs=*4", "instance.micro_batch=64"),
    ),
    "p2-lr0.1-micro64": (
        "Phase 2: lr 0.1 (2x), in micro-batches of 64",
        ("instance.lr=0.1", "instance.micro_batch=64"),
    ),
    "p2-lr0.2-micro64": (
        "Phase 2: lr 0.2 (4x, Phase 1's), in micro-batches of 64",
        ("instance.lr=0.2", "instance.micro_batch=64"),
    ),
    "p2-lr0.4-micro64": (
        "Phase 2: lr 0.4 (8x), in micro-batches of 64",
        ("instance.lr=0.4", "instance.micro_batch=64"),
    ),
    "p2-lr0.2-2x-micro64": (
        "Phase 2: lr 0.2, twice the epochs, in micro-batches of 64 (has lr 0.2 converged?)",
        ("instance.lr=0.2", "instance.epochs=*2", "instance.micro_batch=64"),
    ),
    "p1-micro64-p2-2x": (
        "Phase 1 in micro-batches of 64 too, then the Phase 2 of p2-2x-micro64",
        ("llc.micro_batch=64", "instance.epochs=*2", "instance.micro_batch=64"),
    ),
    "p2-unscaled": ("Phase 2: the 64-bit BCE not scaled by 64/20", ("instance.bce_scale=1",)),
    "p2-k-bits": (
        "Phase 2: an unscaled BCE on the first 20 bits only (the evaluated ones), not all k",
        ("instance.bce_scale=1", "instance.bce_bits=20"),
    ),
    "p2-3-epochs": (
        "Phase 2 as the cpu profile had it: 3 epochs, one-cycle with 25 % warm-up, unscaled BCE",
        ("instance.epochs=3", "instance.schedule=onecycle", "instance.warmup=0.25", "instance.bce_scale=1"),
    ),
    "p2-wd5e-3": ("Phase 2: weight decay 5e-3 (10x)", ("instance.weight_decay=0.005",)),
    "p2-cutout": ("Phase 2: Cutout 16 px on top of crop + flip", ("instance.cutout=16",)),
    "p1-cutout": ("Phase 1 and 2 with Cutout 16 px", ("llc.cutout=16", "instance.cutout=16")),
    "p1-no-aux": ("Phase 1 without the auxiliary real-valued head", ("aux_weight=0",)),
    "p1-normal-init": ("Phase 1 codebook initialised kaiming normal (official)", ("llc.codebook_init=normal",)),
    "p1-official-head": (
        "Phase 1 unscaled logits (official formula), lr 0.1 x batch/256, normal init",
        ("scaled_head=false", "llc.lr=0.1", "llc.codebook_init=normal"),
    ),
    "all-cutout": (
        "every model (real, Phase 1, Phase 2) with Cutout 16 px",
        ("real.cutout=16", "llc.cutout=16", "instance.cutout=16"),
    ),
    "all-bf16": (
        "every model (real, Phase 1, Phase 2) trained under bf16 autocast on the CPU (twice the speed?)",
        ("real.cpu_bf16=true", "llc.cpu_bf16=true", "instance.cpu_bf16=true"),
    ),
    "bf16-but-p2": (
        "the real model and Phase 1 under bf16 autocast on the CPU, Phase 2 in float32",
        ("real.cpu_bf16=true", "llc.cpu_bf16=true"),
    ),
    "p1-k20": (
        "one 20-bit code (no nesting), Phase 2 on its 20 bits: the paper's set-up",
        ("sweep=20", "retrieval_bits=8,10,16,20"),
    ),
}


def accuracy_needed(goal: float, right: float, wrong: float) -> float:
    """Class-code accuracy a at which a * right + (1 - a) * wrong reaches ``goal`` bits right, where ``right`` and
    ``wrong`` are the mean bits right of images whose class code is right / wrong: bits right is exactly that
    mixture, so with ``right`` and ``wrong`` held at their measured values this is the accuracy a goal needs
    (> 1: out of reach at any accuracy)."""
    return float((goal - wrong) / (right - wrong))


def check_results(rows: dict, p, seed: int, where) -> None:
    """ValueError, in one sentence naming ``where``, unless the variants results file ``rows`` ({variant name:
    ``run_variant``'s row, 'run': ``studies.run_record``}) can take more rows of profile ``p`` at ``seed``: it
    was run with ``p``'s overrides, and each of its rows is relative to ``p``'s own Phase 1 and Phase 2
    (``plan.phase_names``). A row of another base, or one that does not record it, measured another recipe
    under the same variant name."""
    ran = rows.get("run", {}).get("overrides", list(p.overrides))
    if ran != list(p.overrides):
        raise ValueError(
            f"{where} holds variants run with other overrides ({' '.join(ran) or 'none'}, not "
            f"{' '.join(p.overrides) or 'none'}); give another --out"
        )
    base = plan.phase_names(p, seed)
    other = sorted(name for name, row in rows.items() if name != "run" and row.get("base") != base)
    if other:
        raise ValueError(
            f"{where} holds variants ({', '.join(other)}) of another recipe of the profile than its "
            f"Phase 1 {base['phase1']} and Phase 2 {base['phase2']} (or does not say which); give "
            "another --out"
        )


def run_variant(ctx: Context, name: str, seed: int = 0, bits=(14, 20), train_per_class: int = 50) -> dict:
    """Fit (or load) one variant of ``ctx.profile``: its Phase 1 and Phase 2, and score them. Returns {variant,
    what, sets, 'test' (or 'validation', when the profile holds images out: then the test split is not read) and
    'train': {k: ``evaluation.evaluate_llc``'s row: class-code accuracy, MHD, ED, bits
    right, bits right split by whether the class code is right, ...}, 'seconds': training seconds, 'images':
    {split: how many images it was scored on}, 'goal': the profile's 20-bit bits-right goal and the class-code
    accuracy it needs at this variant's split
    (``accuracy_needed``), 'base': the profile's own models (``plan.phase_names``), 'checkpoints': {'phase1',
    'phase2': this variant's}, 'recipe': {'llc', 'instance': its two TrainConfigs}}."""
    base, ws = ctx.profile, ctx.ws
    what, sets = VARIANTS[name]
    p = apply_sets(base, sets)
    made = p.overrides[len(base.overrides) :]  # one record per item, a factor *m made concrete
    sets = [rec if item.partition("=")[2].startswith("*") else item for item, rec in zip(sets, made)]
    _, p1, p2 = plan.headline(p, seed)
    llc, inst = ws.fit(p1), ws.fit(p2)
    scored = "validation" if p.holdout else "test"  # a recipe is chosen on held-out training images when there are
    held = ws.store.get(plan.validation_data(p, seed) if p.holdout else plan.test_data(p, seed), scored)
    train = ws.store.get(DataSel(p.dataset, train_per_class, None, seed, p.image_size, p.holdout), "train")
    row = {
        "variant": name,
        "what": what,
        "sets": sets,
        "seed": seed,
        "base": plan.phase_names(base, seed),
        "checkpoints": plan.phase_names(p, seed),
        "recipe": {"llc": dataclasses.asdict(p1.cfg), "instance": dataclasses.asdict(p2.cfg)},
        "seconds": {s.label: round(sum(r["seconds"] for r in ws.history(s)), 1) for s in (p1, p2)},
        "phase2_history": ws.history(p2),
        "images": {scored: len(held), "train": len(train)},
    }
    for split, data in ((scored, held), ("train", train)):
        row[split] = {str(k): r for k, r in evaluate_llc(llc, inst, data, ws.device, bits).items()}
    if "20" in row[scored]:
        t20 = row[scored]["20"]
        goal = claims.THRESHOLDS["bits_right_goal"].get(base.name, claims.THRESHOLDS["bits_right_goal"]["cpu"])
        row["goal"] = {
            "bits_right": goal,
            "class_code_acc_needed": accuracy_needed(
                goal, t20["bits_right_if_class_code_right"], t20["bits_right_if_class_code_wrong"]
            ),
        }
    return row
