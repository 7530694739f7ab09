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
    """(loss, (B, C) full-length class-code logits) of features ``f`` (B, d), labels ``y`` (B,).

    loss = mean over the prefixes p of CE(logits of the first p bits, y) + aux_weight * CE(aux(f), y).
    Every prefix's logits come from one product (``LLCHead.prefix_logits``) and every cross-entropy term,
    the auxiliary one included, from one call with per-row weights, so the nested recipe costs about what a
    single k costs.
    """
    z, codes = model.head.project(f), model.head.codes()
    prefixes = tuple(cfg.nested) or (cfg.bits,)
    n, b = len(prefixes), len(y)
    stacked = model.head.prefix_logits(z, codes, prefixes)  # (n, B, C)
    rows, targets = stacked.reshape(n * b, -1), y.repeat(n)
    acc = torch.promote_types(stacked.dtype, torch.float32)  # the sum runs in at least fp32 under autocast
    weights = torch.full((n * b,), 1.0 / (n * b), device=f.device, dtype=acc)
    if cfg.aux_weight > 0:
        rows = torch.cat([rows, model.aux(f).to(rows.dtype)])
        targets = torch.cat([targets, y])
        weights = torch.cat([weights, torch.full((b,), cfg.aux_weight / b, device=f.device, dtype=acc)])
    ce = F.cross_entropy(rows, targets, label_smoothing=cfg.label_smoothing, reduction="none")
    loss = (ce.to(acc) * weights).sum()
    k = z.shape[1]
    full = stacked[prefixes.index(k)] if k in prefixes else model.head.logits(z, codes)
    return loss, full


def phase1_loss_per_prefix(model, f, y, cfg, progress: float = 0.0):
    """The same loss as ``phase1_loss`` written as one product and one cross-entropy per prefix (the
    definition the fused form is tested against)."""
    z, codes = model.head.project(f), model.head.codes()
    prefixes = cfg.nested or (cfg.bits,)
    losses = [F.cross_entropy(model.head.logits(z, codes, p), y, label_smoothing=cfg.label_smoothing) for p in prefixes]
    loss = torch.stack(losses).mean()
    if cfg.aux_weight > 0:
        loss = loss + cfg.aux_weight * F.cross_entropy(model.aux(f), y, label_smoothing=cfg.label_smoothing)
    return loss, model.head.logits(z, codes)


def phase2_loss(model, f, y, cfg, progress: float = 0.0):
    """(``cfg.bce_scale`` x the per-bit BCE against the frozen class code of each label over the first
    ``cfg.bce_bits`` bits (all k when None), (B, C) class-code logits)."""
    z, codes = model.head.project(f), model.head.codes()
    m = cfg.bce_bits or z.shape[1]
    target = (codes[y, :m] + 1) / 2
    return cfg.bce_scale * F.binary_cross_entropy_with_logits(z[:, :m], target), model.head.logits(z, codes)
