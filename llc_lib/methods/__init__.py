"""The training objective of every method, one file each: ``real``, ``llc`` (Phase 1 and Phase 2),
``hashnet`` and ``csq``. ``loss_fn`` dispatches on ``cfg.mode``; the training loop knows nothing else."""
from __future__ import annotations

import torch

from . import csq, hashnet, llc, real

LOSSES = {"real": real.loss, "llc": llc.phase1_loss, "instance": llc.phase2_loss,
          "hashnet": hashnet.loss, "csq": csq.loss}


def loss_fn(model, x: torch.Tensor, y: torch.Tensor, cfg, progress: float = 0.0
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scalar loss, (B, C) logits for the running train accuracy, or None for the hashing methods) of
    ``model`` on the batch (x, y) under ``cfg.mode``. ``progress`` in [0, 1]: fraction of training done."""
    return LOSSES[cfg.mode](model, model.backbone(x), y, cfg, progress)
