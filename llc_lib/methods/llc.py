"""LLC (Kusupati et al., NeurIPS 2021; official code github.com/RAIVNLab/LLC).

Phase 1 (class codes): logits = P(f) . sign(C)^T with a learnable real codebook C (C x k) binarised by a
straight-through estimator (``codebook.LLCHead``); cross-entropy with label smoothing, averaged over the
nested code prefixes ``cfg.nested`` (the paper's nested codebooks; just the full k bits when empty), plus
``cfg.aux_weight`` times the cross-entropy of an auxiliary real-valued head on the backbone features (ours,
see docs/deviations.md; 0 = the paper).

Phase 2 (instance codes): the Phase 1 codebook is frozen; per-bit sigmoid BCE of P(f) against
(code_y + 1) / 2, so that sign(P(f)) is the image's own k-bit code.

Recipe of the official code (ImageNet, ResNet50): SGD lr 0.1 x batch/256, momentum 0.875, weight decay
2^-15, cosine schedule, label smoothing 0.1, 100 epochs; Phase 2 lr 0.01, 25 epochs. The profiles in
``config`` state where ours differs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def phase1_loss(model, f, y, cfg, progress: float = 0.0):
    """(loss, (B, C) full-length class-code logits) of features ``f`` (B, d), labels ``y`` (B,)."""
    z, codes = model.head.project(f), model.head.codes()
    prefixes = cfg.nested or (cfg.bits,)
    losses = [F.cross_entropy(model.head.logits(z, codes, p), y, label_smoothing=cfg.label_smoothing)
              for p in prefixes]
    loss = torch.stack(losses).mean()
    if cfg.aux_weight > 0:
        loss = loss + cfg.aux_weight * F.cross_entropy(model.aux(f), y, label_smoothing=cfg.label_smoothing)
    return loss, model.head.logits(z, codes)


def phase2_loss(model, f, y, cfg, progress: float = 0.0):
    """(per-bit BCE against the frozen class code of each label, (B, C) class-code logits)."""
    z, codes = model.head.project(f), model.head.codes()
    target = (codes[y] + 1) / 2
    return F.binary_cross_entropy_with_logits(z, target), model.head.logits(z, codes)
