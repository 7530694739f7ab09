"""Every training method, one file each (``real``, ``llc`` for Phase 1 and Phase 2, ``hashnet``, ``csq``), and
the registry that the run graph and the training loop read: a new method is one file here plus one line in
``METHODS``; ``graph`` and ``train`` name no method.

The registry names each method's file and functions instead of importing them, so that reading it (the
config validates modes, the hashing baselines read their recipe) does not load torch; a method's file is
imported the first time its loss or head initialiser is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Method:
    """What the run graph and the training loop need to know of one training mode.

    file: its module in this folder. head: the model kind it trains (``models.build_model``: 'real', 'llc' or
    'hash'). loss_name: the file's loss, (model, features (B, d), labels (B,), cfg, progress in [0, 1]) ->
    (scalar loss, (B, C) logits for the running training accuracy, or None). init_head_name: the file's
    (model, cfg, num_classes) -> None, run on a freshly built model (e.g. CSQ's fixed hash centres).
    frozen_codebook: trains against a given codebook, loaded into the head and frozen (Phase 2). learns_codebook:
    learns a codebook that the run graph writes to a file for Phase 2 (Phase 1). aux_head: may train with the
    auxiliary real-valued head (``cfg.aux_weight``). pairwise: the loss is over the pairs of a batch, not a mean
    of per-image terms, so it cannot be split into micro-batches (``TrainConfig.micro_batch``).
    """

    file: str
    head: str
    loss_name: str = "loss"
    init_head_name: str | None = None
    frozen_codebook: bool = False
    learns_codebook: bool = False
    aux_head: bool = False
    pairwise: bool = False

    @property
    def real_valued(self) -> bool:
        """Trains a real-valued classifier (the source of the SVD / CCA codebooks and of warm starts)."""
        return self.head == "real"

    @property
    def module(self):
        return importlib.import_module(f"{__name__}.{self.file}")

    @property
    def loss(self) -> Callable:
        return getattr(self.module, self.loss_name)

    @property
    def init_head(self) -> Callable | None:
        return None if self.init_head_name is None else getattr(self.module, self.init_head_name)


METHODS = {
    "real": Method("real", "real"),
    "llc": Method("llc", "llc", "phase1_loss", learns_codebook=True, aux_head=True),
    "instance": Method("llc", "llc", "phase2_loss", frozen_codebook=True),
    "hashnet": Method("hashnet", "hash", pairwise=True),
    "csq": Method("csq", "hash", init_head_name="init_head"),
}


def method(mode: str) -> Method:
    """The registered method of training mode ``mode``; ValueError naming the modes otherwise."""
    if mode not in METHODS:
        raise ValueError(f"mode must be one of {tuple(METHODS)}, got {mode!r}")
    return METHODS[mode]
