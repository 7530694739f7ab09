"""HashNet (Cao et al., "HashNet: Deep Learning to Hash by Continuation", ICCV 2017), written from the paper
and its public code's constants.

h = tanh(beta z) with beta grown by continuation; weighted pairwise likelihood over the pairs of a batch.
Recipe here: the hash layers (one per code length) on the real-valued model's backbone, at 10x the
backbone's learning rate (HashNet's practice for a new layer on a pre-trained network), no label smoothing,
the Phase 2 optimiser, for the published length (see ``recipe``). beta follows the published continuation as
a function of the fraction of training done, so it ends where the published 10,000 iterations end;
``published_epochs`` gives the published length in epochs of another dataset (by training images seen).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ALPHA_TIMES_K = 10.0  # alpha = 10 / k: the published code's sigmoid parameter
BETA_END = 7.0  # continuation beta = sqrt(1 + gamma t) reaches ~7 after the published 10k steps
HEAD_LR_MULT = 10.0
PUBLISHED_IMAGES = 10_000 * 2 * 36  # the public code: 10,000 iterations of two batches of 36 images


def published_epochs(train_images: int) -> float:
    """The published schedule's length in epochs of a training set of ``train_images`` images, at the same
    number of images seen (CIFAR-100's 50,000: 14.4)."""
    return PUBLISHED_IMAGES / train_images


def recipe(phase2, widths=(8, 10, 16, 32, 64)):
    """The hashing baselines' TrainConfig from the profile's Phase 2 config ``phase2``: its optimiser, schedule
    and epochs (the cpu and gpu profiles replace the epochs by the published lengths: ``config.Profile``),
    without its BCE settings and in whole batches (HashNet's loss is over the pairs of a batch), CSQ with the
    public code's hash centres (``plan.hashing`` drops that setting for HashNet, which has none)."""
    return phase2.replace(
        mode="hashnet",
        bits=max(widths),
        nested=tuple(widths),
        head_lr_mult=HEAD_LR_MULT,
        label_smoothing=0.0,
        csq_centers="public",
        bce_bits=None,
        bce_scale=1.0,
        micro_batch=None,
    )


def pair_loss(z: torch.Tensor, y: torch.Tensor, beta: float) -> torch.Tensor:
    """HashNet's weighted maximum-likelihood loss over the pairs of a batch.

    h = tanh(beta z) (B, k); for i != j, s_ij = [y_i == y_j] and the pair loss is
    log(1 + exp(alpha h_i.h_j)) - alpha s_ij h_i.h_j with alpha = 10/k, weighted by |S|/|S_1| for similar and
    |S|/|S_0| for dissimilar pairs (the paper's balancing of the rare similar pairs); returns the weighted
    sum divided by |S|.
    """
    import torch  # here, not on top: ``config`` reads ``recipe`` without loading torch
    import torch.nn.functional as F

    h = torch.tanh(beta * z.float())
    ip = (ALPHA_TIMES_K / h.shape[1]) * h @ h.t()
    sim = y[:, None] == y[None, :]
    off = ~torch.eye(len(y), dtype=torch.bool, device=y.device)
    pos, neg = sim & off, ~sim & off
    n_pos, n_neg = pos.sum().clamp(min=1), neg.sum().clamp(min=1)
    n_all = n_pos + n_neg
    pair = F.softplus(ip) - sim.float() * ip
    w = torch.where(pos, n_all / n_pos, torch.where(neg, n_all / n_neg, torch.zeros_like(ip)))
    return (w * pair).sum() / n_all


def loss(model, f, y, cfg, progress: float = 0.0):
    """(mean of ``pair_loss`` over the hash heads, None); ``progress`` in [0, 1] sets beta."""
    import torch

    beta = math.sqrt(1 + (BETA_END**2 - 1) * progress)
    parts = model.head.split(model.head.project(f))
    return torch.stack([pair_loss(zk, y, beta) for zk in parts.values()]).mean(), None
