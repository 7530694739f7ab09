"""Real-valued baseline: cross-entropy with label smoothing on a linear classifier, optionally through a
k-dim linear bottleneck. With ``cfg.nested`` the bottleneck is nested like LLC's codebook: the mean over the
prefixes p of the cross-entropy of the classifier restricted to the first p dims (the real-valued analogue of
nested codes; Matryoshka representations, Kusupati et al. 2022)."""

from __future__ import annotations

import torch.nn.functional as F


def loss(model, f, y, cfg, progress: float = 0.0):
    """(loss, (B, C) logits of the whole width) of backbone features ``f`` (B, d) and labels ``y`` (B,)."""
    if not cfg.nested:
        logits = model.head(f)
        return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing), logits
    prefixes = tuple(cfg.nested)
    stacked = model.head.prefix_logits(model.head.embed(f), prefixes)  # (n, B, C)
    n = len(prefixes)
    loss = F.cross_entropy(stacked.reshape(n * len(y), -1), y.repeat(n), label_smoothing=cfg.label_smoothing)
    full = stacked[prefixes.index(cfg.bits)] if cfg.bits in prefixes else model.head(f)
    return loss, full
