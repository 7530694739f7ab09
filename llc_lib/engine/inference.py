"""Eval-mode outputs of a trained model and what is read off them: features, logits, projections, class
codes (the training loop scores accuracy with ``train.evaluate``)."""

from __future__ import annotations

import numpy as np
import torch

from ..kernels.codebooks import binarize
from .data import eval_batches
from .device import autocast, eval_batch_size
from .models import CodeNet


@torch.no_grad()
def outputs(
    model: CodeNet,
    data,
    device: torch.device,
    batch_size: int | None = None,
    workers: int = 0,
    rank: int = 0,
    world: int = 1,
    only: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Eval-mode outputs over ``data`` (this rank's shard when ``world`` > 1): 'features' (N, d) and, by head,
    LLC: 'logits' (N, C) and 'proj' (N, k) (the real projection; its signs are the instance codes);
    real: 'logits' and 'embed' (N, d'); hash: 'proj' (N, sum of the head widths). All float32.
    batch_size: images per forward pass (None = ``device.eval_batch_size``; it does not change the outputs).
    only: just these outputs (the others are not computed), e.g. ('proj',)."""
    model.eval().to(device)
    kind = model.kind
    keys = ("features",) + {"llc": ("logits", "proj"), "real": ("logits", "embed"), "hash": ("proj",)}[kind]
    if only is not None and not set(only) <= set(keys):
        raise ValueError(f"a {kind} model has the outputs {keys}, not {sorted(set(only) - set(keys))}")
    out: dict[str, list] = {k: [] for k in (keys if only is None else only)}
    with autocast(device):
        for x, _ in eval_batches(data, batch_size or eval_batch_size(device), device, rank, world, workers):
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            f = model.backbone(x).float()
            if "features" in out:
                out["features"].append(f)
            if "logits" in out:
                out["logits"].append(model.head(f).float())
            if "embed" in out:
                out["embed"].append(model.head.embed(f).float())
            if "proj" in out:
                out["proj"].append(model.head.project(f).float())
    return {k: torch.cat(v).cpu().numpy() for k, v in out.items()}


def class_codes(llc: CodeNet) -> np.ndarray:
    """(C, k) int8 +-1 class codes of an LLC model (Phase 1, or the frozen codebook of Phase 2)."""
    return binarize(llc.head.codebook)


def head_logits(model: CodeNet, proj: np.ndarray, bits: int | None = None) -> np.ndarray:
    """(N, C) class-code logits of an LLC model from its projections ``proj`` (N, k), first ``bits`` bits."""
    codes = torch.from_numpy(class_codes(model).astype(np.float32))
    return model.head.logits(torch.from_numpy(proj), codes, bits).numpy()
