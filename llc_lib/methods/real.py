"""Real-valued baseline: cross-entropy with label smoothing on a linear classifier (optionally through a
k-dim linear bottleneck)."""
from __future__ import annotations

import torch.nn.functional as F


def loss(model, f, y, cfg, progress: float = 0.0):
    """(loss, (B, C) logits) of backbone features ``f`` (B, d) and labels ``y`` (B,)."""
    logits = model.head(f)
    return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing), logits
