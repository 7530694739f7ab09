"""Phase 2's budget, shown: the instance codes' MHD, ED and P(exact | right) against Phase 2's length, from the
committed measurements of the cpu profile's Phase 2 recipe (seed 0; ``variants`` rows of
docs/measurements), on the test images and on 50 training images per class, with the paper's level.

The three lengths are one recipe (the profile's Phase 2 learning rate and micro-batch) at 15, 30 and 60 epochs,
each started from the same Phase 1. The measurements predate the primary P(exact | right) (conditioned on
Phase 2's own class decision): they give P(exact | right) conditioned on Phase 1's class code, and the
paper-style ratio ED accuracy / class-code accuracy, the quantity of the paper's level, is derived from them.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config.profiles import get_profile
from ..core.paths import REPO_ROOT
from .claims import PAPER
from .claims.headline import THRESHOLDS

MEASUREMENTS = REPO_ROOT / "docs" / "measurements"

SOURCES = (  # (file in docs/measurements, variant): the recipe at 15, 30 and 60 epochs
    ("phase2_lr_cpu_seed0.json", "p2-lr0.2-micro64"),
    ("phase2_lr_cpu_seed0.json", "p2-lr0.2-2x-micro64"),
    ("phase2_adopted_2x_cpu_seed0.json", "p2-lr0.2-2x-micro64"),
)
METRICS = ("mhd_acc", "ed_acc", "p_exact_given_class_code_right")
RATIO = "ed_over_class_code_acc"  # derived: ED accuracy / Phase 1's class-code accuracy, the paper-style ratio
SPLITS = ("test", "train")


def paper_p_exact() -> float:
    """The paper's level of P(exact | right) as the paper-style ratio: its ED accuracy over its class-code
    accuracy at 20 bits on ImageNet-1K (``PAPER``), a fraction; it is drawn against our ``RATIO``."""
    return PAPER["codebooks"]["LLC"][1] / PAPER["class_code_top1"]


def _sets(row: dict) -> dict[str, str]:
    return dict(s.split("=", 1) for s in row["sets"])


def phase2_budget(instance=None, folder: Path | str = MEASUREMENTS) -> dict:
    """{'epochs': [15, 30, 60], 'points': {epochs: {split: {k: {metric: value}}}} (``METRICS`` and ``RATIO``,
    fractions; splits 'test' and 'train'), 'sources': ['file:variant', ...], 'paper_p_exact'
    (``paper_p_exact``), 'goal': {k: the profile's P(exact | right) goal}} of the committed measurements in
    ``folder``. ``instance``: the cpu profile's Phase 2 TrainConfig unless given; ValueError, in one line, when a
    measurement's learning rate or micro-batch (the settings its variant set) is not ``instance``'s: the recipe
    changed, measure it again."""
    instance = instance or get_profile("cpu").instance
    points, used = {}, []
    for name, variant in SOURCES:
        row = json.loads((Path(folder) / name).read_text())[variant]
        sets = _sets(row)
        ran = (float(sets.get("instance.lr", "nan")), int(sets.get("instance.micro_batch", 0)))
        if ran != (instance.lr, instance.micro_batch or 0):
            raise ValueError(
                f"{name} ({variant}) measured Phase 2 at lr {ran[0]}, micro-batch {ran[1]}, not the profile's lr "
                f"{instance.lr}, micro-batch {instance.micro_batch}: measure the budget again (`variants`)"
            )
        epochs = len(row["phase2_history"])
        points[epochs] = {
            s: {k: {**{m: r[m] for m in METRICS}, RATIO: r["ed_acc"] / r["class_code_acc"]} for k, r in row[s].items()}
            for s in SPLITS
        }
        used.append(f"{name}:{variant}")
    return {
        "epochs": sorted(points),
        "points": {str(e): points[e] for e in sorted(points)},
        "sources": used,
        "profile_epochs": instance.epochs,
        "paper_p_exact": paper_p_exact(),
        "goal": {str(k): v for k, v in THRESHOLDS["p_exact_goal"]["cpu"].items()},
    }
