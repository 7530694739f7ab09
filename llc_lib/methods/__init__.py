"""Every training method, one file each (``real``, ``llc`` for Phase 1 and Phase 2, ``hashnet``, ``csq``), and
the registry that the run graph and the training loop read: a new method is one file here plus one line in
``METHODS``; ``graph`` and ``train`` name no method."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from . import csq, hashnet, llc, real


@dataclass(frozen=True)
class Method:
    """What the run graph and the training loop need to know of one training mode.

    head: the model kind it trains (``models.build_model``: 'real', 'llc' or 'hash'). loss: (model, features
    (B, d), labels (B,), cfg, progress in [0, 1]) -> (scalar loss, (B, C) logits for the running training
    accuracy, or None). init_head: (model, cfg, num_classes) -> None, run on a freshly built model (e.g. CSQ's
    fixed hash centres). frozen_codebook: trains against a given codebook, loaded into the head and frozen
    (Phase 2). aux_head: may train with the auxiliary real-valued head (``cfg.aux_weight``).
    """

    head: str
    loss: Callable
    init_head: Callable | None = None
    frozen_codebook: bool = False
    aux_head: bool = False


METHODS = {
    "real": Method("real", real.loss),
    "llc": Method("llc", llc.phase1_loss, aux_head=True),
    "instance": Method("llc", llc.phase2_loss, frozen_codebook=True),
    "hashnet": Method("hash", hashnet.loss),
    "csq": Method("hash", csq.loss, init_head=csq.init_head),
}


def method(mode: str) -> Method:
    """The registered method of training mode ``mode``; ValueError naming the modes otherwise."""
    if mode not in METHODS:
        raise ValueError(f"mode must be one of {tuple(METHODS)}, got {mode!r}")
    return METHODS[mode]


def loss_fn(model, x: torch.Tensor, y: torch.Tensor, cfg, progress: float = 0.0
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scalar loss, (B, C) logits for the running train accuracy, or None) of ``model`` on the batch (x, y)
    under ``cfg.mode``. ``progress`` in [0, 1]: fraction of training done."""
    return method(cfg.mode).loss(model, model.backbone(x), y, cfg, progress)
